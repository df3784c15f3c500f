#!/usr/bin/env bash
# Where an Erlang -> Go -> Python execute spends its time: a node built with
# -tags hbtrace (package internal/steptrace) and its Python worker stamp each
# step of CALLS sequential echo calls of py.bench from bench/python_trace.erl,
# and bench/python_trace.py lines the stamps up (all CLOCK_MONOTONIC) into a
# table of per-step medians. The stamps slow the call a little: read the
# shares, not the sum. docs/benchmarks.md, "Round 4", has a run.
# Usage: bash bench/python_trace.sh   (CALLS=3000; HORNBEAM_PYTHON as for python.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export HORNBEAM_PYTHON=${HORNBEAM_PYTHON:-/usr/bin/python3}
calls=${CALLS:-3000}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$out"' EXIT
cookie=hornbeam_trace_bench
go build -tags hbtrace -o "$out/hornbeam" ./cmd/hornbeam
erlc -o "$out" bench/python_trace.erl
HORNBEAM_TRACE_FILE="$out/steps" "$out/hornbeam" --sname hb_trace@localhost --cookie "$cookie" \
	--log-level warn --python python_hooks:setup --python-path "$PWD/bench" &
node=$!
sleep 2
erl -noshell -sname hb_tracec@localhost -setcookie "$cookie" -pa "$out" \
	-eval "python_trace:main([\"hb_trace@localhost\", \"$calls\", \"$out/calls\"])"
kill -USR1 "$node"
pkill -USR1 -P "$node"
sleep 1
echo "$(go version); $("$HORNBEAM_PYTHON" --version 2>&1); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "${KEEP:-}" ] || echo "stamps in $out"
"$HORNBEAM_PYTHON" bench/python_trace.py "$out/calls" "$out/steps" "$out"/steps.py.*
