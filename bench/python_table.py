"""Print the table of bench/python.sh from the outputs of its rounds.

Usage: python3 bench/python_table.py FILE...

Reads Go benchmark lines (``BenchmarkX/sub-2  N  v unit  v unit ...``) and
``name unit value`` lines from the Erlang baselines, takes the median of each
metric over the rounds, and prints: metric, ours, baseline, ratio, target,
met/MISSED.
"""

import re
import statistics
import sys

GUIDE_ERLPORT_US = 90.0
"""erlport's Erlang -> Python call on this machine, from our guide (erlport cannot be installed here)."""

BENCH_LINE = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$")


def read(paths):
    """Return {(name, unit): [values...]} over every round in paths."""
    values = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                m = BENCH_LINE.match(line)
                if m:
                    fields = m.group(2).split()
                    for value, unit in zip(fields[::2], fields[1::2]):
                        values.setdefault((m.group(1), unit), []).append(float(value))
                    continue
                fields = line.split()
                if len(fields) == 3:
                    try:
                        values.setdefault((fields[0], fields[1]), []).append(float(fields[2]))
                    except ValueError:
                        pass
    return values


def main(paths):
    values = read(paths)

    def get(name, unit):
        v = values.get((name, unit))
        return statistics.median(v) if v else None

    rows = [
        ("Go->Python execute p50 (us)", get("BenchmarkExecute/workers=1", "p50-us"),
         "erlport-like baseline (our codec, erlport's loop shape)", get("erlport_like", "p50_us"), "<=", 0.8),
        ("Go->Python execute p50 (us)", get("BenchmarkExecute/workers=1", "p50-us"),
         "erlport per the guide", GUIDE_ERLPORT_US, "<=", 0.8),
        ("Go->Python execute p50 (us)", get("BenchmarkExecute/workers=1", "p50-us"),
         "erlport-like loop driven from Go, same pipes", get("BenchmarkExecute/workers=1", "loop-p50-us"),
         None, None),
        ("Go->Python execute p50 (us)", get("BenchmarkExecute/workers=1", "p50-us"),
         "bare pipe ping-pong, Go<->python3", get("BenchmarkExecute/workers=1", "pipe-p50-us"), None, None),
        ("Go->Python execute p50, back-to-back (us)", get("BenchmarkExecute/workers=1/back-to-back", "p50-us"),
         "erlport per the guide", GUIDE_ERLPORT_US, None, None),
        ("Go->Python execute p99 (us)", get("BenchmarkExecute/workers=1", "p99-us"),
         "erlport-like baseline p99", get("erlport_like", "p99_us"), None, None),
        ("erlport-like baseline p50 (us)", get("erlport_like", "p50_us"),
         "bare pipe ping-pong, Erlang port<->python3", get("erlang_port_bare", "p50_us"), None, None),
    ]
    one = get("BenchmarkExecuteParallel/workers=1", "calls/s")
    for n in (1, 2, 4):
        rows.append(("32 Go callers, %d worker%s (calls/s)" % (n, "s" if n > 1 else ""),
                     get("BenchmarkExecuteParallel/workers=%d" % n, "calls/s"),
                     "1 worker", one, None, None))
    rows += [
        ("Python->Go execute p50 (us)", get("BenchmarkPythonToGo/workers=1", "p50-us"),
         "bare pipe ping-pong, Go<->python3", get("BenchmarkPythonToGo/workers=1", "pipe-p50-us"), None, None),
        ("Python->Go stream (chunks/s)", get("BenchmarkStream/default_window", "chunks/s"),
         "pull per chunk, Go->Python execute (calls/s)", get("BenchmarkStream/default_window", "pulls/s"), ">=", 20),
        ("Erlang->Go->Python execute p50 (us)", get("dist_execute", "p50_us"),
         "erlport-like baseline", get("erlport_like", "p50_us"), None, None),
        ("Python->Erlang stream via Go node (chunks/s)", get("dist_stream", "chunks_s"),
         "pull per chunk, Erlang->Go->Python execute (calls/s)", get("dist_pull", "calls_s"), ">=", 20),
    ]
    print("%-44s %10s  %-54s %10s %8s  %s" % ("metric", "ours", "baseline", "", "ratio", "target"))
    for name, ours, base_name, base, op, target in rows:
        if ours is None or base is None:
            print("%-44s %10s  %-54s %10s %8s  %s" % (name, "-", base_name, "-", "-", "not measured"))
            continue
        ratio = ours / base
        verdict = ""
        if op == "<=":
            verdict = "<= %g %s" % (target, "met" if ratio <= target else "MISSED")
        elif op == ">=":
            verdict = ">= %g %s" % (target, "met" if ratio >= target else "MISSED")
        print("%-44s %10.1f  %-54s %10.1f %8.2f  %s" % (name, ours, base_name, base, ratio, verdict))
    rounds = len(values.get(("BenchmarkExecute/workers=1", "p50-us"), []))
    print("(medians over %d round%s)" % (rounds, "" if rounds == 1 else "s"))


if __name__ == "__main__":
    main(sys.argv[1:])
