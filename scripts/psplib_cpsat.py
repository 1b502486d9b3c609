#!/usr/bin/env python3
"""Peer results for `lockstep bench psplib --peer-json`: OR-Tools CP-SAT on PSPLIB instances.

Solves each single-mode `.sm` instance of DIR as a cumulative scheduling model (interval per
job, one cumulative constraint per renewable resource, finish-to-start precedences,
minimise the makespan) with the same wall-time budget per instance that lockstep gets, and
writes one JSON row per instance: {"name", "makespan", "time", "status"}. `makespan` is null
when no solution was found in time.

    pip install ortools
    python3 scripts/psplib_cpsat.py ../shared/bench/psplib/j120 --millis 1000 --limit 60 \
        --workers 2 --out /tmp/cpsat_j120.json

`--limit K` picks the same evenly spaced instances as `lockstep bench psplib --limit K`.
The script only reads the instance files; it never copies them.
"""

import argparse
import json
import re
import time
from pathlib import Path

from ortools.sat.python import cp_model


def natural_key(name):
    return [(int(part), "") if part.isdigit() else (0, part) for part in re.findall(r"\d+|\D+", name)]


def parse_sm(text):
    lines = text.splitlines()
    n_jobs = int(next(l for l in lines if l.startswith("jobs (incl.")).split(":")[1].split()[0])
    n_res = int(next(l for l in lines if "- renewable" in l).split(":")[1].split()[0])
    def section(title):
        start = next(i for i, l in enumerate(lines) if l.startswith(title))
        rows = []
        for l in lines[start + 1:]:
            if l.startswith("***") and rows:
                break
            fields = l.split()
            if fields and fields[0].isdigit():
                rows.append([int(x) for x in fields])
        return rows
    successors = {row[0] - 1: [s - 1 for s in row[3:]] for row in section("PRECEDENCE RELATIONS")[:n_jobs]}
    requests = section("REQUESTS/DURATIONS")[:n_jobs]
    durations = [row[2] for row in requests]
    demands = [row[3:3 + n_res] for row in requests]
    capacities = section("RESOURCEAVAILABILITIES")[0]
    return durations, demands, capacities, successors


def solve(path, millis, workers):
    durations, demands, capacities, successors = parse_sm(path.read_text())
    horizon = sum(durations)
    model = cp_model.CpModel()
    starts, ends, intervals = [], [], []
    for job, duration in enumerate(durations):
        start = model.new_int_var(0, horizon, f"s{job}")
        end = model.new_int_var(0, horizon, f"e{job}")
        intervals.append(model.new_interval_var(start, duration, end, f"i{job}"))
        starts.append(start)
        ends.append(end)
    for job, succs in successors.items():
        for succ in succs:
            model.add(starts[succ] >= ends[job])
    for resource, capacity in enumerate(capacities):
        model.add_cumulative(intervals, [d[resource] for d in demands], capacity)
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = millis / 1000.0
    solver.parameters.num_workers = workers
    began = time.perf_counter()
    status = solver.solve(model)
    elapsed = time.perf_counter() - began
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return {
        "name": path.name,
        "makespan": int(solver.objective_value) if found else None,
        "time": elapsed,
        "status": solver.status_name(status),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--millis", type=int, required=True, help="wall-time budget per instance")
    parser.add_argument("--limit", type=int, help="solve this many instances, evenly spaced")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT search workers (cores)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    files = sorted(args.dir.glob("*.sm"), key=lambda p: natural_key(p.name))
    if args.limit and args.limit < len(files):
        files = [files[i * len(files) // args.limit] for i in range(args.limit)]
    rows = []
    for path in files:
        rows.append(solve(path, args.millis, args.workers))
        print(json.dumps(rows[-1]), flush=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
