#!/usr/bin/env python3
"""Continue the committed `results/full` folder from a working copy, taking new records as first
written (how sessions 9-20 added jobs; results/README.md has the story).

Why: the runner rewrites `records.jsonl` (sorted by cell id) from its parsed records on every
append, and the 1d780f1 build parses some 17-digit floats one ulp off, so a working copy's older
lines drift. The committed file is therefore the committed lines, untouched, plus each new cell's
line as the runner FIRST wrote it (a first write serialises the in-memory values).

    cp -r results/full runs/full
    python3 benchmarks/full/continue.py capture runs/full first-write.jsonl &   # before the run
    quadrec run benchmarks/suites/full.toml --out runs/full --no-report --only KEY
    touch first-write.jsonl.stop                                                # capture exits
    python3 benchmarks/full/continue.py merge results/full runs/full first-write.jsonl
    python3 benchmarks/full/continue.py check results/full first-write.jsonl    # needs pyarrow
    quadrec report results/full

`merge` refuses (exit 1, nothing written) when `suite.json` differs, a captured cell is already
committed or missing from the working copy, or a per-user file is missing.
"""
import json
import math
import os
import shutil
import sys
import time


def die(msg):
    print(f"continue.py: {msg}", file=sys.stderr)
    sys.exit(1)


def cell_id(line, where):
    try:
        return json.loads(line)["cell_id"]
    except (ValueError, KeyError) as e:
        die(f"{where}: not a cell record ({e})")


def read_lines(path):
    try:
        with open(path) as f:
            return [l if l.endswith("\n") else l + "\n" for l in f.read().splitlines()]
    except OSError as e:
        die(f"{path}: {e.strerror}")


def capture(run_dir, out):
    """Append each record line of RUN_DIR/records.jsonl the first time its cell id appears."""
    rec = os.path.join(run_dir, "records.jsonl")
    stop = out + ".stop"
    seen = {cell_id(l, f"{rec}:{i + 1}") for i, l in enumerate(read_lines(rec))}
    print(f"capture: {len(seen)} cells already in {rec}; stop with: touch {stop}", flush=True)
    last = os.stat(rec).st_ino
    while not os.path.exists(stop):
        try:
            ino = os.stat(rec).st_ino
        except FileNotFoundError:
            ino = last
        if ino != last:  # the runner replaces the file (temp + rename): a new inode per write
            last = ino
            new = [l for l in read_lines(rec) if cell_id(l, rec) not in seen]
            if new:
                with open(out, "a") as o:
                    o.writelines(new)
                seen.update(cell_id(l, rec) for l in new)
                print(time.strftime("%H:%M:%S"), f"captured {len(new)}", flush=True)
        time.sleep(0.001)


def merge(committed, run_dir, captured):
    """Committed lines + captured lines, sorted by cell id; copy the new cells and run.log."""
    a, b = os.path.join(committed, "suite.json"), os.path.join(run_dir, "suite.json")
    if open(a, "rb").read() != open(b, "rb").read():
        die(f"{b} differs from {a}: not a continuation of the same suite")
    rec = os.path.join(committed, "records.jsonl")
    old = read_lines(rec)
    old_ids = {cell_id(l, f"{rec}:{i + 1}") for i, l in enumerate(old)}
    cap = read_lines(captured)
    run_rec = os.path.join(run_dir, "records.jsonl")
    run_ids = {cell_id(l, f"{run_rec}:{i + 1}") for i, l in enumerate(read_lines(run_rec))}
    dirs = []
    for i, l in enumerate(cap):
        c = cell_id(l, f"{captured}:{i + 1}")
        if c in old_ids:
            die(f"{captured}:{i + 1}: cell {c} is already committed")
        if c not in run_ids:
            die(f"{captured}:{i + 1}: cell {c} is not in {run_dir}/records.jsonl")
        p = json.loads(l).get("per_user")
        if p:
            src = os.path.join(run_dir, os.path.dirname(p))
            if not os.path.isdir(src):
                die(f"{captured}:{i + 1}: per-user folder {src} is missing")
            dirs.append(os.path.dirname(p))
    out = sorted(old + cap, key=lambda l: json.loads(l)["cell_id"])
    for d in dirs:
        shutil.copytree(os.path.join(run_dir, d), os.path.join(committed, d), dirs_exist_ok=True)
    shutil.copyfile(os.path.join(run_dir, "run.log"), os.path.join(committed, "run.log"))
    tmp = rec + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(out)
    os.replace(tmp, rec)
    print(f"merge: {len(old)} -> {len(out)} records, {len(dirs)} cell folders copied")


def check(committed, captured):
    """Each captured record's test means equal the means of its per-user Parquet columns."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        die("check needs pyarrow (pip install pyarrow)")
    bad = 0
    for i, l in enumerate(read_lines(captured)):
        r = json.loads(l)
        if not r.get("per_user"):
            continue
        t = pq.read_table(os.path.join(committed, r["per_user"]))
        for c in t.column_names:
            if c == "user":
                continue
            v = [x for x in t.column(c).to_pylist() if x is not None]
            rec = r["test"].get(c)
            if not v:
                ok = rec is None or rec["n"] == 0
            else:
                m = math.fsum(v) / len(v)
                ok = rec is not None and rec["n"] == len(v) and abs(m - rec["mean"]) <= 1e-12 * max(1.0, abs(m))
            bad += not ok
            print(f"{r['cell_id']} seed {r['seed']} {c}: {'ok' if ok else 'MISMATCH'}")
    print(f"check: {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    cmds = {"capture": (capture, 2), "merge": (merge, 3), "check": (check, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) != cmds[sys.argv[1]][1] + 2:
        die("usage: continue.py capture RUN_DIR OUT | merge COMMITTED RUN_DIR CAPTURED | check COMMITTED CAPTURED")
    fn, _ = cmds[sys.argv[1]]
    fn(*sys.argv[2:])
