#!/usr/bin/env bash
# The Python benchmarks side by side in one run, alternating in rounds, with
# medians and ratios against baselines measured in the same rounds:
# Go<->Python execute and streams (python/bench_test.go) against a bare pipe
# ping-pong and an erlport-shaped loop driven from Go; Erlang->Go->Python
# through a hornbeam node (bench/python_dist.erl) against an erlport-like
# Erlang port loop (bench/python_erlport_like.*) and, when ERLPORT is set,
# real erlport (bench/python_erlport.escript); and the CPU time per call of
# the Python side of each hop (bench/python_cpu.py).
# Usage: bash bench/python.sh
#   ROUNDS=5, BENCHTIME=1s, CALLS=5000 per Erlang baseline;
#   HORNBEAM_PYTHON defaults to Debian's /usr/bin/python3;
#   ERLPORT=/path/to/erlport: an erlport 0.11 checkout with its modules
#   compiled into ebin/ (not part of this repository); its row is skipped
#   when unset.
set -euo pipefail
cd "$(dirname "$0")/.."
export HORNBEAM_PYTHON=${HORNBEAM_PYTHON:-/usr/bin/python3}
rounds=${ROUNDS:-5}
calls=${CALLS:-5000}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cookie=hornbeam_python_bench
go test -c -o "$out/python.test" ./python
go build -o "$out/hornbeam" ./cmd/hornbeam
erlc -o "$out" bench/python_dist.erl
"$out/hornbeam" --sname hb_py@localhost --cookie "$cookie" --log-level warn \
	--python python_hooks:setup --python-path "$PWD/bench" &
sleep 2
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load average before: $(load)" >"$out/load.txt"
for round in $(seq "$rounds"); do
	echo "round $round of $rounds (load $(load))" >&2
	(cd python && "$out/python.test" -test.run '^$' -test.bench . -test.benchtime "${BENCHTIME:-1s}") >>"$out/go.txt"
	PYTHONPATH=python escript bench/python_erlport_like.escript "$HORNBEAM_PYTHON" "$calls" >>"$out/erlport.txt"
	if [ -n "${ERLPORT:-}" ]; then
		escript bench/python_erlport.escript "$ERLPORT" "$HORNBEAM_PYTHON" "$calls" >>"$out/erlport.txt"
	fi
	erl -noshell -sname "hb_pyc$round@localhost" -setcookie "$cookie" -pa "$out" \
		-eval 'python_dist:main(["hb_py@localhost"])' >>"$out/dist.txt"
	PYTHONPATH=python "$HORNBEAM_PYTHON" bench/python_cpu.py "$calls" 1 >>"$out/cpu.txt"
done
echo "load average after: $(load)" >>"$out/load.txt"
echo "$HORNBEAM_PYTHON: $("$HORNBEAM_PYTHON" --version 2>&1); $(go version); $(nproc) CPUs"
"$HORNBEAM_PYTHON" bench/python_table.py "$out/load.txt" "$out/go.txt" "$out/erlport.txt" "$out/dist.txt" \
	"$out/cpu.txt"
