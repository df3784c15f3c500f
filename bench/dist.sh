#!/usr/bin/env bash
# Erlang→Go versus Erlang→BEAM: the same echo and stream calls, alternating in one run.
# Usage: bash bench/dist.sh   (from the repository root; needs erl and Go)
#        VS=/path/to/other/hornbeam bash bench/dist.sh   puts that binary in the BEAM node's seat, so the "go/beam"
#        column compares this tree's build with another build (an A/B of two commits in one run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cookie=hornbeam_bench
go build -o "$out/hornbeam" ./cmd/hornbeam
erlc -o "$out" bench/hb_beam_server.erl bench/hb_bench.erl
# The servers' output goes to a file, shown if the client fails: the warnings a server may print as the client
# leaves (global's, as OTP's own nodes print them) would otherwise land in the table.
if [ -n "${VS:-}" ]; then
	"$VS" --sname hb_beam@localhost --cookie "$cookie" --log-level warn >>"$out/servers.log" 2>&1 &
else
	erl -noshell -sname hb_beam@localhost -setcookie "$cookie" -pa "$out" \
		-eval '{ok, _} = hb_beam_server:start(), receive stop -> ok end' >>"$out/servers.log" 2>&1 &
fi
"$out/hornbeam" --sname hb_go@localhost --cookie "$cookie" --log-level warn >>"$out/servers.log" 2>&1 &
sleep 2
if ! erl -noshell -sname hb_client@localhost -setcookie "$cookie" -pa "$out" \
	-eval 'hb_bench:main(["hb_beam@localhost", "hb_go@localhost"])'; then
	echo "bench/dist.sh: the client failed; the servers said:" >&2
	cat "$out/servers.log" >&2
	exit 1
fi
