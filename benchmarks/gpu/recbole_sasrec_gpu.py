"""RecBole 1.2.1 SASRec on ML-100K on a GPU, trained to convergence (early stopping on valid
NDCG@10, patience 10), as the reference for quadrec's converged SASRec (issue 4's parity).

Protocol: identical to benchmarks/crm/recbole_run.py's SASRec entry (same atomic file
benchmarks/crm/recbole_data/ml100k-loo-full, leave-one-out by time via RecBole's LS split, full
ranking, CE loss, max length 50, batch 2048, lr 1e-3, RecBole's SASRec defaults: 2 layers,
2 heads, hidden 64, inner 256, dropout 0.5), only `device` differs. A wall-clock budget
(--budget-s) stops training early if convergence has not come by then; the record says whether
early stopping or the budget ended it (`stopped_by`).

Usage (device run: benchmarks/gpu/device_run.sh):
  python3 benchmarks/gpu/recbole_sasrec_gpu.py --device cuda --budget-s 170 --out results.jsonl
  python3 benchmarks/gpu/recbole_sasrec_gpu.py --device cpu --epochs 2 --smoke-batches 3  # local smoke test
Compatibility patches for current NumPy / torch (aliases, torch.load default) as in
recbole_run.py; they do not change what RecBole computes. Autograd anomaly detection, which
RecBole switches on at import, is switched off again (it only slows training).
"""
import argparse, json, os, time

import numpy as np
for name, typ in [("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)]:
    if name not in np.__dict__:
        setattr(np, name, typ)
for name, typ in [("float", float), ("int", int), ("bool", bool), ("long", int)]:
    if name not in np.__dict__:
        setattr(np, name, typ)
import torch
_torch_load = torch.load
torch.load = lambda *a, **k: _torch_load(*a, **{"weights_only": False, **k})

ap = argparse.ArgumentParser()
ap.add_argument("--device", default="cuda")
ap.add_argument("--epochs", type=int, default=300)
ap.add_argument("--budget-s", type=float, default=170.0)
ap.add_argument("--seed", type=int, default=2026)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "crm", "recbole_data"))
ap.add_argument("--out", default="")
ap.add_argument("--smoke-batches", type=int, default=0,
                help="smoke test only: train on the first K batches of each epoch")
args = ap.parse_args()
torch.set_num_threads(args.threads)

from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.utils import get_model, get_trainer, init_seed
import recbole.trainer.trainer as rt

torch.autograd.set_detect_anomaly(False)
epoch_times, valid_scores = [], []
orig_epoch = rt.Trainer._train_epoch
class FirstBatches:
    def __init__(self, dl, k):
        self.dl, self.k = dl, k
    def __iter__(self):
        import itertools
        return itertools.islice(iter(self.dl), self.k)
    def __len__(self):
        return min(self.k, len(self.dl))
def timed(self, train_data, *a, **k):
    if args.smoke_batches:
        train_data = FirstBatches(train_data, args.smoke_batches)
    t0 = time.perf_counter()
    r = orig_epoch(self, train_data, *a, **k)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    epoch_times.append(time.perf_counter() - t0)
    return r
rt.Trainer._train_epoch = timed

state = {"t0": None, "budget_hit": False}
orig_es = rt.early_stopping
def es(value, best, cur_step, max_step, bigger=True):
    valid_scores.append(float(value))
    best, cur_step, stop, update = orig_es(value, best, cur_step, max_step, bigger)
    if not stop and time.perf_counter() - state["t0"] > args.budget_s:
        state["budget_hit"] = True
        stop = True
    return best, cur_step, stop, update
rt.early_stopping = es

cuda = args.device == "cuda"
cfg = {
    "data_path": args.data, "dataset": "ml100k-loo-full",
    "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
    "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
    "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
    "metrics": ["NDCG", "Hit"], "topk": [10], "valid_metric": "NDCG@10",
    "train_batch_size": 2048, "eval_batch_size": 4096,
    "learning_rate": 0.001, "stopping_step": 10, "epochs": args.epochs,
    "seed": args.seed, "reproducibility": True,
    "gpu_id": "0" if cuda else "", "use_gpu": cuda,
    "show_progress": False, "checkpoint_dir": "/tmp/recbole_ckpt",
    "MAX_ITEM_LIST_LENGTH": 50, "train_neg_sample_args": None, "loss_type": "CE",
}
config = Config(model="SASRec", config_dict=cfg)
torch.autograd.set_detect_anomaly(False)
init_seed(config["seed"], config["reproducibility"])
torch.set_num_threads(args.threads)
dataset = create_dataset(config)
train, valid, test = data_preparation(config, dataset)
model = get_model(config["model"])(config, train._dataset).to(config["device"])
trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
state["t0"] = time.perf_counter()
best_valid, _ = trainer.fit(train, valid, saved=True, show_progress=False)
fit_s = time.perf_counter() - state["t0"]
res = trainer.evaluate(test, load_best_model=True, show_progress=False)
n = len(epoch_times)
if state["budget_hit"]:
    stopped_by = "budget"
elif n >= args.epochs:
    stopped_by = "epoch-cap"
else:
    stopped_by = "early-stopping"
rec = {
    "smoke_batches": args.smoke_batches or None,
    "tool": "recbole-1.2.1", "method": "SASRec", "loss_type": "CE", "seed": args.seed,
    "device": str(config["device"]),
    "gpu": torch.cuda.get_device_name(0) if cuda else None,
    "torch": torch.__version__,
    "valid_ndcg@10": float(best_valid),
    "test_ndcg@10": float(res["ndcg@10"]), "test_hr@10": float(res["hit@10"]),
    "epochs_run": n, "best_epoch": int(np.argmax(valid_scores)) if valid_scores else None,
    "stopped_by": stopped_by, "budget_s": args.budget_s,
    "mean_epoch_train_s": float(np.mean(epoch_times)) if n else 0.0,
    "median_epoch_train_s": float(np.median(epoch_times)) if n else 0.0,
    "fit_s": fit_s, "valid_ndcg@10_per_epoch": valid_scores, "epoch_train_s": epoch_times,
    "torch_threads": torch.get_num_threads(),
    "n_users": dataset.user_num - 1, "n_items": dataset.item_num - 1,
}
print(json.dumps(rec), flush=True)
if args.out:
    with open(args.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
