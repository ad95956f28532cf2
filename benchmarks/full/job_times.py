#!/usr/bin/env python3
"""Wall time of every finished job (method entry x seed) of a quadrec run folder.

A job's cells share `started_at` (the job start); its wall time runs to the last `finished_at`
of its cells (tuning + every view). Prints a Markdown table in start order plus per-method sums.

    python3 benchmarks/full/job_times.py RUN_DIR
"""
import datetime
import json
import sys
from collections import OrderedDict


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def main(run_dir):
    jobs = OrderedDict()
    with open(f"{run_dir}/records.jsonl") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            m = r["method"]
            key = m["id"] + (f":{m['variant']}" if m["variant"] else "")
            j = jobs.setdefault((key, r["seed"]), {"start": r["started_at"], "end": r["finished_at"],
                                                   "cells": 0, "failed": 0})
            j["end"] = max(j["end"], r["finished_at"])
            j["cells"] += 1
            j["failed"] += r["status"] != "ok"
    print("| job | cells | failed | wall s |")
    print("|---|---|---|---|")
    per_method = OrderedDict()
    for (key, seed), j in sorted(jobs.items(), key=lambda kv: kv[1]["start"]):
        s = (ts(j["end"]) - ts(j["start"])).total_seconds()
        per_method.setdefault(key, []).append(s)
        print(f"| {key}/{seed} | {j['cells']} | {j['failed']} | {s:.0f} |")
    print()
    print("| method | seeds done | wall s (sum) | wall s per seed (mean) |")
    print("|---|---|---|---|")
    total = 0.0
    for key, v in per_method.items():
        total += sum(v)
        print(f"| {key} | {len(v)} | {sum(v):.0f} | {sum(v) / len(v):.0f} |")
    print(f"\nTotal over {len(jobs)} finished jobs: {total:.0f} s ({total / 3600:.2f} h)")


if __name__ == "__main__":
    main(sys.argv[1])
