#!/usr/bin/env bash
# Run a quadrec suite as a Slurm job array: one shard per array task, then merge.
#
#   sbatch --array=0-7 docs/slurm-array.sh benchmarks/suites/full.toml runs/full
#   # when the array has finished:
#   quadrec merge runs/full runs/full.shard-*
#
# Shards are assigned by a stable hash of each job's key (dataset/split/method/seed), so every
# task computes the same partition without talking to the others; each shard writes its own
# folder, and `quadrec merge` checks that shards agree before combining them. Cells are
# content-addressed: resubmitting the array after a failure reruns only unfinished cells.
#SBATCH --job-name=quadrec
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=quadrec-%A_%a.log
set -euo pipefail
SUITE="${1:?suite file}"
OUT="${2:?output prefix}"
N="${SLURM_ARRAY_TASK_COUNT:?run this under sbatch --array}"
I="${SLURM_ARRAY_TASK_ID:?}"
# One shared cache (fetched wheels, processed datasets, splits) on the cluster filesystem.
export QUADREC_CACHE="${QUADREC_CACHE:-$HOME/.cache/quadrec}"
# Fetch once per task; fetches are verified and atomic, so concurrent tasks cannot corrupt it.
quadrec run "$SUITE" --out "$OUT.shard-$I" --shard "$I/$N" --no-report
