#!/usr/bin/python3
"""make_dlinear.py - golden vectors for tests/unit/test_dlinear.c,
test_train.c and test_ts.c, made by running the reference code:

  Time-Series-Library (thuml, @4e938a1): models/DLinear.py, utils/tools.py
      adjust_learning_rate, utils/timefeatures.py, data_provider/data_loader.py
      Dataset_ETT_hour and Dataset_Custom
  LTSF-Linear (cure-lab, @0c11366): models/NLinear.py
  torch 1.13: torch.optim.Adam

usage: make_dlinear.py TSLIB_DIR LTSF_LINEAR_DIR [OUT_DIR]
Both checkouts are imported from the given paths; nothing of them is
copied here.  Output: .npy files (several arrays back to back) in OUT_DIR
(default tests/golden/dlinear).  The synthetic CSVs are written to a
temporary directory from closed-form integer formulas that test_ts.c
reproduces byte for byte.
"""
import math
import os
import sys
import tempfile
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib_import  # noqa: E402

TSLIB, LTSF = sys.argv[1], sys.argv[2]
OUT = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "dlinear")
os.makedirs(OUT, exist_ok=True)
tslib_import.setup(TSLIB)


def save(name, *arrays):
    with open(os.path.join(OUT, name + ".npy"), "wb") as f:
        for a in arrays:
            np.save(f, np.ascontiguousarray(a))


# ---- DLinear / NLinear forward and gradients --------------------------------------
from models import DLinear  # noqa: E402

torch.manual_seed(0)
for tag, (B, L, H, C, k) in {"a": (2, 20, 7, 3, 5), "b": (3, 30, 12, 2, 25)}.items():
    args = tslib_import.Args(seq_len=L, pred_len=H, enc_in=C, moving_avg=k)
    m = DLinear.Model(args).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    x = torch.randn(B, L, C, dtype=torch.float64)
    y = m(x, None, None, None)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    sd = m.state_dict()
    save("dlinear_" + tag, np.array([B, L, H, C, k], dtype=np.int32), x.numpy().astype(np.float32),
         sd["Linear_Seasonal.weight"].numpy().astype(np.float32), sd["Linear_Seasonal.bias"].numpy().astype(np.float32),
         sd["Linear_Trend.weight"].numpy().astype(np.float32), sd["Linear_Trend.bias"].numpy().astype(np.float32),
         y.detach().numpy().astype(np.float32), g.numpy().astype(np.float32),
         m.Linear_Seasonal.weight.grad.numpy().astype(np.float32), m.Linear_Seasonal.bias.grad.numpy().astype(np.float32),
         m.Linear_Trend.weight.grad.numpy().astype(np.float32), m.Linear_Trend.bias.grad.numpy().astype(np.float32))

sys.path.insert(0, LTSF)
import importlib.util  # noqa: E402
spec = importlib.util.spec_from_file_location("ltsf_nlinear", os.path.join(LTSF, "models", "NLinear.py"))
NLinear = importlib.util.module_from_spec(spec)
spec.loader.exec_module(NLinear)
B, L, H, C = 2, 16, 5, 3
m = NLinear.Model(types.SimpleNamespace(seq_len=L, pred_len=H, enc_in=C, individual=False)).double()
x = torch.randn(B, L, C, dtype=torch.float64)
y = m(x)
g = torch.randn_like(y)
(y * g).sum().backward()
save("nlinear", np.array([B, L, H, C], dtype=np.int32), x.numpy().astype(np.float32),
     m.Linear.weight.detach().numpy().astype(np.float32), m.Linear.bias.detach().numpy().astype(np.float32),
     y.detach().numpy().astype(np.float32), g.numpy().astype(np.float32),
     m.Linear.weight.grad.numpy().astype(np.float32), m.Linear.bias.grad.numpy().astype(np.float32))

# ---- Adam ------------------------------------------------------------------------------
p = torch.nn.Parameter(torch.randn(37))
p0 = p.detach().clone()
opt = torch.optim.Adam([p], lr=3e-3)
grads, traj = [], []
for step in range(6):
    gr = torch.randn(37) * (0.1 if step % 2 else 10.0)
    p.grad = gr.clone()
    opt.step()
    grads.append(gr.numpy())
    traj.append(p.detach().numpy().copy())
save("adam", p0.numpy(), np.stack(grads), np.stack(traj))

# ---- learning-rate schedules (the rate used in epochs 1..12) -------------------------------
from utils.tools import adjust_learning_rate  # noqa: E402
import contextlib, io  # noqa: E402,E401
rates = []
for kind in ("type1", "type2", "type3", "cosine"):
    a = types.SimpleNamespace(lradj=kind, learning_rate=1e-3, train_epochs=10)
    o = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    r = []
    for epoch in range(12):          # exp_long_term_forecasting: train epoch, then adjust(epoch + 1)
        r.append(o.param_groups[0]["lr"])
        with contextlib.redirect_stdout(io.StringIO()):
            adjust_learning_rate(o, epoch + 1, a)
    rates.append(r)
save("lr", np.array(rates, dtype=np.float64))

# ---- data loaders ----------------------------------------------------------------------------
from data_provider.data_loader import Dataset_ETT_hour, Dataset_Custom  # noqa: E402
from utils.timefeatures import time_features  # noqa: E402
import pandas as pd  # noqa: E402


def write_csv(path, n, step_s, cols):
    """Rows i = 0..n-1 from 2016-07-01 00:00 every step_s seconds; value of
    column j is ((i * (7 + 2j) + 13 j) % 101) / 10 - 3.5 printed with %.1f."""
    t0 = pd.Timestamp("2016-07-01 00:00:00")
    with open(path, "w") as f:
        f.write("date," + ",".join(cols) + "\n")
        for i in range(n):
            t = t0 + pd.Timedelta(seconds=i * step_s)
            vals = ["%.1f" % (((i * (7 + 2 * j) + 13 * j) % 101) / 10 - 3.5) for j in range(len(cols))]
            f.write(t.strftime("%Y-%m-%d %H:%M:%S") + "," + ",".join(vals) + "\n")


tmp = tempfile.mkdtemp()
write_csv(os.path.join(tmp, "ett.csv"), 14400 + 37, 3600, ["HUFL", "HULL", "OT"])
write_csv(os.path.join(tmp, "custom.csv"), 1000, 900, ["a", "OT", "b"])
seq, lab, pred = 96, 48, 24


def dump(ds, name, idx):
    x, y, xm, ym = ds[idx]
    return [np.array([len(ds)], dtype=np.int64), np.asarray(ds.scaler.mean_, np.float64),
            np.asarray(ds.scaler.scale_, np.float64), x.astype(np.float32), y.astype(np.float32),
            xm.astype(np.float32), ym.astype(np.float32)]


for loader, fname, features, target, tag in ((Dataset_ETT_hour, "ett.csv", "M", "OT", "ett_m"),
                                              (Dataset_Custom, "custom.csv", "M", "a", "custom_m"),
                                              (Dataset_Custom, "custom.csv", "S", "b", "custom_s")):
    arrays = []
    for flag in ("train", "val", "test"):
        args = tslib_import.Args(seq_len=seq, label_len=lab, pred_len=pred)
        ds = loader(args, tmp, flag=flag, size=[seq, lab, pred], features=features, data_path=fname,
                    target=target, timeenc=1, freq="h")
        n = len(ds)
        for idx in (0, n - 1):
            arrays += dump(ds, tag, idx)
    save("loader_" + tag, *arrays)

# time features for 't' (minute) on irregular timestamps
ts = pd.to_datetime(["2016-02-29 23:59:00", "2017-12-31 00:07:00", "2020-06-15 13:30:00", "1999-01-04 05:45:00"])
save("timefeat_t", ts.values.astype("datetime64[s]").astype(np.int64), time_features(ts, "t").T.astype(np.float32),
     time_features(ts, "h").T.astype(np.float32))
print("wrote", OUT)
