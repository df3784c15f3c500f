#!/usr/bin/env bash
# A named service (--expose) and a pg member versus hornbeam_hooks: the same sequential echo call, alternating
# in one run, with the p50 ratio to hornbeam_hooks.
# Usage: bash bench/services.sh   (from the repository root; needs erl and Go)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cookie=hornbeam_bench
go build -o "$out/hornbeam" ./cmd/hornbeam
erlc -o "$out" bench/hb_services_bench.erl
"$out/hornbeam" --sname hb_svc_go@localhost --cookie "$cookie" --log-level warn --expose demo.echo=demo_echo &
sleep 2
erl -noshell -sname hb_svc_client@localhost -setcookie "$cookie" -pa "$out" \
	-eval 'hb_services_bench:main(["hb_svc_go@localhost"])'
