"""Print the table of bench/python.sh from the outputs of its rounds.

Usage: python3 bench/python_table.py FILE...

Reads Go benchmark lines (``BenchmarkX/sub-2  N  v unit  v unit ...``),
``name unit value`` lines from the Erlang baselines and bench/python_cpu.py,
and ``load average before|after: 1m 5m 15m`` lines; takes the median of each
metric over the rounds, and prints: metric, ours, baseline, ratio, target,
met/MISSED, then whether the machine was quiet. Wall-clock ratios measured
under load say little about a quiet machine; the CPU rows move less.
"""

import re
import statistics
import sys

BENCH_LINE = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$")
LOAD_LINE = re.compile(r"^load average (before|after): ([\d.]+)")
QUIET_BEFORE = 0.5
"""Largest 1-minute load average before the run for the machine to count as quiet."""
QUIET_AFTER = 2.5
"""Largest 1-minute load average after the run to count as quiet: the benchmarks themselves keep both cores of
a two-core machine busy (their peers poll instead of sleeping), which adds about 2."""


def read(paths):
    """Return {(name, unit): [values...]} over every round in paths."""
    values = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                m = LOAD_LINE.match(line)
                if m:
                    values[("load", m.group(1))] = [float(m.group(2))]
                    continue
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

    go = "BenchmarkExecute/workers=1"
    to_go = "BenchmarkPythonToGo/workers=1"
    rows = [
        ("Go->Python execute p50 (us)", get(go, "p50-us"),
         "erlport-shaped loop driven from Go, same pipes", get(go, "loop-p50-us"), "<=", 0.8),
        ("Go->Python execute p99 (us)", get(go, "p99-us"),
         "erlport-shaped loop driven from Go, p99", get(go, "loop-p99-us"), "<=", 1.5),
        ("Go->Python execute p50 (us)", get(go, "p50-us"),
         "bare pipe ping-pong, Go<->python3", get(go, "pipe-p50-us"), None, None),
        ("Go->Python execute p50, back-to-back (us)", get(go + "/back-to-back", "p50-us"),
         "erlport-shaped loop driven from Go", get(go, "loop-p50-us"), None, None),
        ("Go->Python execute p50, interleaved (us)", get(go + "/interleaved", "p50-us"),
         "erlport-shaped loop, interleaved call by call", get(go + "/interleaved", "loop-p50-us"), None, None),
        ("Go->Python execute, worker CPU per call (us)", get("py_worker", "cpu_us"),
         "erlport-shaped loop's CPU per call", get("py_loop", "cpu_us"), None, None),
        ("erlport-like Erlang port loop p50 (us)", get("erlport_like", "p50_us"),
         "bare Erlang port<->python3 ping-pong", get("erlang_port_bare", "p50_us"), None, None),
    ]
    one = get("BenchmarkExecuteParallel/workers=1", "calls/s")
    for n in (1, 2, 4):
        rows.append(("32 Go callers, %d worker%s (calls/s)" % (n, "s" if n > 1 else ""),
                     get("BenchmarkExecuteParallel/workers=%d" % n, "calls/s"),
                     "1 worker", one, None, None))
    rows += [
        ("Python->Go execute p50 (us)", get(to_go, "p50-us"),
         "bare pipe ping-pong, Go<->python3", get(to_go, "pipe-p50-us"), "<=", 1.5),
        ("Python->Go execute p99 (us)", get(to_go, "p99-us"),
         "bare pipe ping-pong, p99", get(to_go, "pipe-p99-us"), "<=", 1.5),
        ("Python->Go execute, worker CPU per call (us)", get("py_to_go", "cpu_us"),
         "bare echo loop's CPU per round trip", get("py_bare", "cpu_us"), None, None),
        ("Python->Go stream (chunks/s)", get("BenchmarkStream/default_window", "chunks/s"),
         "pull per chunk, Go->Python execute (calls/s)", get("BenchmarkStream/default_window", "pulls/s"),
         ">=", 20),
        ("Erlang->Go->Python execute p50 (us)", get("dist_execute", "p50_us"),
         "erlport 0.11 Erlang->Python (ERLPORT)", get("erlport", "p50_us"), "<=", 2.0),
        ("Erlang->Go->Python execute p99 (us)", get("dist_execute", "p99_us"),
         "erlport 0.11 Erlang->Python, p99", get("erlport", "p99_us"), None, None),
        ("Erlang->Go->Python execute p50 (us)", get("dist_execute", "p50_us"),
         "erlport-like Erlang port loop (our codec)", get("erlport_like", "p50_us"), None, None),
        ("Python->Erlang stream via Go node (chunks/s)", get("dist_stream", "chunks_s"),
         "pull per chunk, Erlang->Go->Python execute (calls/s)", get("dist_pull", "calls_s"), ">=", 20),
    ]
    if get("erlport", "p50_us") is None:
        print("(ERLPORT unset: no real erlport row)")
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
    rounds = len(values.get((go, "p50-us"), []))
    print("(medians over %d round%s)" % (rounds, "" if rounds == 1 else "s"))
    before, after = get("load", "before"), get("load", "after")
    if before is not None and after is not None:
        quiet = before <= QUIET_BEFORE and after <= QUIET_AFTER
        print("machine: %s (1-minute load average %.2f before, %.2f after; quiet means <= %g before, <= %g after)"
              % ("quiet" if quiet else "UNDER LOAD: wall-clock ratios are not a quiet machine's", before, after,
                 QUIET_BEFORE, QUIET_AFTER))


if __name__ == "__main__":
    main(sys.argv[1:])
