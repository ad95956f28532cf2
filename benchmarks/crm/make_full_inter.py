"""Concatenate the exported train/valid/test atomic files of the same split into one file
(per user: train rows, then valid, then test; the time order quadrec used) for RecBole's own
leave-one-out split (`LS: valid_and_test`). Same output as `Loo::export_recbole_full`.
Usage: python benchmarks/crm/make_full_inter.py benchmarks/crm/recbole_data"""
import os, sys
d = sys.argv[1]
rows = {}
header = None
for part in ["train", "valid", "test"]:
    with open(os.path.join(d, "ml100k-loo", f"ml100k-loo.{part}.inter")) as f:
        header = f.readline()
        for line in f:
            rows.setdefault(int(line.split("\t")[0]), []).append(line)
os.makedirs(os.path.join(d, "ml100k-loo-full"), exist_ok=True)
with open(os.path.join(d, "ml100k-loo-full", "ml100k-loo-full.inter"), "w") as f:
    f.write(header)
    for u in sorted(rows):
        f.writelines(rows[u])
