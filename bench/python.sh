#!/usr/bin/env bash
# The Python benchmarks side by side in one run, alternating in rounds, with
# medians and ratios: Go<->Python execute and streams (python/bench_test.go)
# against a bare pipe ping-pong and an erlport-like Erlang->Python port loop
# (bench/python_erlport_like.*), and Erlang->Go->Python through a hornbeam
# node (bench/python_dist.erl).
# Usage: bash bench/python.sh   (needs Go, erl and python3; ROUNDS=3, BENCHTIME=1s,
# HORNBEAM_PYTHON defaults to Debian's /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
export HORNBEAM_PYTHON=${HORNBEAM_PYTHON:-/usr/bin/python3}
rounds=${ROUNDS:-3}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
cookie=hornbeam_python_bench
go test -c -o "$out/python.test" ./python
go build -o "$out/hornbeam" ./cmd/hornbeam
erlc -o "$out" bench/python_dist.erl
"$out/hornbeam" --sname hb_py@localhost --cookie "$cookie" --log-level warn \
	--python python_hooks:setup --python-path "$PWD/bench" &
sleep 2
for round in $(seq "$rounds"); do
	echo "round $round of $rounds" >&2
	(cd python && "$out/python.test" -test.run '^$' -test.bench . -test.benchtime "${BENCHTIME:-1s}") >>"$out/go.txt"
	PYTHONPATH=python escript bench/python_erlport_like.escript "$HORNBEAM_PYTHON" 5000 >>"$out/erlport.txt"
	erl -noshell -sname "hb_pyc$round@localhost" -setcookie "$cookie" -pa "$out" \
		-eval 'python_dist:main(["hb_py@localhost"])' >>"$out/dist.txt"
done
echo "$HORNBEAM_PYTHON: $("$HORNBEAM_PYTHON" --version 2>&1); $(go version)"
"$HORNBEAM_PYTHON" bench/python_table.py "$out/go.txt" "$out/erlport.txt" "$out/dist.txt"
