"""RecBole 1.2.1 side of the CRM benchmark (benchmarks/crm/README.md).

Runs Pop / BPR / SASRec on the SAME leave-one-out split that quadrec uses, exported by
`cargo run -p quadrec-models --example crm_ml100k -- --export benchmarks/crm/recbole_data`
as RecBole atomic files (benchmark_filename = train/valid/test), with quadrec's default
hyper-parameters (which are RecBole's defaults), and prints one JSON line per model:
mean training seconds per epoch (timed around Trainer._train_epoch), best-valid NDCG@10,
test NDCG@10 and HR@10 (full ranking).

Usage:
  OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /work/venv/bin/python benchmarks/crm/recbole_run.py \
      --models Pop,BPR,SASRec --threads 2 [--epochs SASRec=3] --out benchmarks/crm/results/recbole.jsonl

Fairness notes: importing RecBole's models switches on torch autograd anomaly detection
globally, which roughly doubles step time; we switch it off again (what is computed does not
change). Thread count is set explicitly for torch and recorded. Small compatibility patches for
current NumPy are applied below; they do not change what RecBole computes.
"""
import argparse, json, os, sys, time

import numpy as np
# NumPy >= 1.24 removed these aliases; RecBole 1.2.1 still uses them.
# NumPy 2 removed these; RecBole 1.2.1's compatibility_settings() reads them.
for name, typ in [("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)]:
    if name not in np.__dict__:
        setattr(np, name, typ)
for name, typ in [("float", float), ("int", int), ("bool", bool), ("long", int)]:
    if name not in np.__dict__:
        setattr(np, name, typ)
# SciPy >= 1.13 dropped dok_matrix._update, which RecBole 1.2.1's graph models (LightGCN's
# normalised adjacency) call with a {(row, col): value} dict; same entries, set one by one.
import scipy.sparse as _sp
if not hasattr(_sp.dok_matrix, "_update"):
    def _dok_update(self, entries):
        for key, value in entries.items():
            self[key] = value
    _sp.dok_matrix._update = _dok_update
import torch
# torch >= 2.6 defaults torch.load(weights_only=True); RecBole's own checkpoints need the old default.
_torch_load = torch.load
torch.load = lambda *a, **k: _torch_load(*a, **{"weights_only": False, **k})

ap = argparse.ArgumentParser()
ap.add_argument("--models", default="Pop,BPR,SASRec")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--epochs", default="", help="per-model epoch caps, e.g. SASRec=3,BPR=300")
ap.add_argument("--stopping-step", default="", help="per-model stopping_step, e.g. LightGCN=50 (default 10)")
ap.add_argument("--seed", type=int, default=2026)
ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "recbole_data"))
ap.add_argument("--out", default="")
ap.add_argument("--seq-mask", choices=["history", "none"], default="history",
                help="sequential models: mask the user's earlier items in full ranking (quadrec's "
                     "protocol: train items for valid, train+valid for test); 'none' = RecBole's own")
args = ap.parse_args()
torch.set_num_threads(args.threads)

from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.utils import get_model, get_trainer, init_seed
import recbole.trainer.trainer as rt

torch.autograd.set_detect_anomaly(False)

caps = dict(kv.split("=") for kv in args.epochs.split(",") if kv)
patience = dict(kv.split("=") for kv in args.stopping_step.split(",") if kv)
epoch_times = []
orig = rt.Trainer._train_epoch
def timed(self, *a, **k):
    t0 = time.perf_counter()
    r = orig(self, *a, **k)
    epoch_times.append(time.perf_counter() - t0)
    return r
rt.Trainer._train_epoch = timed

# One stderr line per validated epoch (train seconds, valid NDCG@10), so a long run's trajectory
# is visible while it runs and kept if it is stopped.
valid_trace = []
orig_valid = rt.Trainer._valid_epoch
def traced_valid(self, *a, **k):
    score, result = orig_valid(self, *a, **k)
    valid_trace.append(float(score))
    print(json.dumps({"epoch": len(valid_trace), "train_s": epoch_times[-1] if epoch_times else None,
                      "valid_ndcg@10": float(score)}), file=sys.stderr, flush=True)
    return score, result
rt.Trainer._valid_epoch = traced_valid

# RecBole 1.2.1's FullSortEvalDataLoader builds no history mask for SEQUENTIAL models
# (`if not self.is_sequential:` around uid2history_item), so SASRec may rank items the user
# already has, while quadrec's full view masks them (train items when validating, train + valid
# items when testing). With --seq-mask history the same mask is applied after RecBole scores a
# batch; the model, training and metric code are RecBole's own.
seq_mask = None  # (uid field, iid field, user -> all items, user -> valid target, user -> test target)
orig_full_sort = rt.Trainer._full_sort_batch_eval
def masked_full_sort(self, batched_data):
    interaction, scores, positive_u, positive_i = orig_full_sort(self, batched_data)
    if seq_mask is not None and batched_data[1] is None:
        uf, itf, items, vt, tt = seq_mask
        rows, cols = [], []
        for r, (u, t) in enumerate(zip(interaction[uf].tolist(), interaction[itf].tolist())):
            keep = {t, tt[u]} if t == vt[u] else {t}
            for i in items[u] - keep:
                rows.append(r); cols.append(i)
        scores[torch.tensor(rows, dtype=torch.long), torch.tensor(cols, dtype=torch.long)] = -np.inf
    return interaction, scores, positive_u, positive_i
rt.Trainer._full_sort_batch_eval = masked_full_sort

for model_name in args.models.split(","):
    epoch_times.clear()
    valid_trace.clear()
    cfg = {
        "data_path": args.data,
        "dataset": "ml100k-loo-full" if model_name == "SASRec" else "ml100k-loo",
        "benchmark_filename": ["train", "valid", "test"],
        "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
        "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "eval_args": {"order": "TO", "mode": "full", "group_by": "user"},
        "metrics": ["NDCG", "Hit"], "topk": [10], "valid_metric": "NDCG@10",
        "train_batch_size": 2048, "eval_batch_size": 4096,
        "learning_rate": 0.001, "stopping_step": int(patience.get(model_name, 10)), "epochs": int(caps.get(model_name, 300)),
        "seed": args.seed, "reproducibility": True, "device": "cpu", "use_gpu": False,
        "show_progress": False, "checkpoint_dir": "/tmp/recbole_ckpt",
        "MAX_ITEM_LIST_LENGTH": 50,
        "train_neg_sample_args": None if model_name == "SASRec" else {"distribution": "uniform", "sample_num": 1},
    }
    if model_name == "SASRec":
        cfg["loss_type"] = "CE"
        # RecBole 1.2.1's sequential benchmark-file path does not run on current pandas (ragged
        # token_seq remapping, Series.agg(len)); RecBole makes the same leave-one-out-by-time
        # split itself from the full file (rows written in quadrec's (user, time, row) order).
        del cfg["benchmark_filename"]
        cfg["eval_args"] = {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}
    config = Config(model=model_name, config_dict=cfg)
    torch.autograd.set_detect_anomaly(False)
    init_seed(config["seed"], config["reproducibility"])
    torch.set_num_threads(args.threads)
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
    seq_mask = None
    if model_name == "SASRec" and args.seq_mask == "history":
        uf, itf = dataset.uid_field, dataset.iid_field
        items = {}
        for u, i in zip(dataset.inter_feat[uf].tolist(), dataset.inter_feat[itf].tolist()):
            items.setdefault(u, set()).add(i)
        target = lambda d: dict(zip(d._dataset.inter_feat[uf].tolist(), d._dataset.inter_feat[itf].tolist()))
        vt, tt = target(valid), target(test)
        assert len(vt) == len(tt) == len(items), "one valid and one test target per user"
        seq_mask = (uf, itf, items, vt, tt)
    model = get_model(config["model"])(config, train._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    t0 = time.perf_counter()
    best_valid, _ = trainer.fit(train, valid, saved=True, show_progress=False)
    fit_s = time.perf_counter() - t0
    res = trainer.evaluate(test, load_best_model=True, show_progress=False)
    rec = {
        "tool": "recbole-1.2.1", "method": model_name, "seed": args.seed,
        "stopping_step": config["stopping_step"],
        "valid_ndcg@10": float(best_valid) if not isinstance(best_valid, dict) else None,
        "test_ndcg@10": float(res["ndcg@10"]), "test_hr@10": float(res["hit@10"]),
        "epochs_run": len(epoch_times), "mean_epoch_train_s": float(np.mean(epoch_times)) if epoch_times else 0.0,
        "epoch_train_s": epoch_times[:], "valid_ndcg@10_per_epoch": valid_trace[:], "fit_s": fit_s, "torch_threads": torch.get_num_threads(),
        "n_users": dataset.user_num - 1, "n_items": dataset.item_num - 1,
        "eval_history_mask": ("history (patched)" if seq_mask is not None else
                              ("none (RecBole sequential default)" if model_name == "SASRec" else "history (RecBole)")),
    }
    print(json.dumps(rec), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
