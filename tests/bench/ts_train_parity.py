#!/usr/bin/python3
"""ts_train_parity.py - replay a ts_train_dump run in Time-Series-Library's
own PyTorch model and data loader: the same initial weights, the same
batches in the same order, torch.optim.Adam with TSLib's type1 schedule,
the model in training mode (BatchNorm's batch statistics and running
averages), then TSLib's validation set scored with the model in eval mode.
With dropout 0 both sides compute the same function, so a difference in
the training loop (batching, the loss, Adam, the schedule, BatchNorm's
running statistics, validation) shows as losses that drift apart.

usage: ts_train_parity.py TSLIB_DIR DATA.csv DUMP.safetensors
Prints the relative difference of the step losses at a few steps and their
worst, and each epoch's mean training loss and validation MSE on both
sides; exits 1 if a step's loss differs by more than 1e-3 relative or a
validation MSE by more than 1e-3 (float rounding alone grows to about 1e-5
over an epoch).
The TSLib checkout is imported from TSLIB_DIR (nothing of it is copied).
Environment: THREADS (torch's CPU threads, 2), TORCH_DEVICE (cpu; e.g.
cuda), TORCH_SEED (torch's dropout masks, 0).  With dropout on, the two
sides draw different masks and the check fails by design; the epoch means
then compare the two trainings' course from the same start and batches.
"""
import importlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import tslib_import  # noqa: E402
from st_io import read_safetensors  # noqa: E402

import torch  # noqa: E402


def batch(ds, idx):
    items = [ds[int(j)] for j in idx]
    return (torch.tensor(np.stack([it[k] for it in items]), dtype=torch.float32) for k in range(4))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    tslib, data, path = sys.argv[1:]
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    dev = torch.device(os.environ.get("TORCH_DEVICE", "cpu"))
    torch.manual_seed(int(os.environ.get("TORCH_SEED", "0")))
    t, meta = read_safetensors(path)
    name, cfg, H = meta["model"], json.loads(meta["config"]), int(meta["horizon"])
    tslib_import.setup(tslib)
    sys.path.insert(0, tslib)
    from data_provider import data_loader
    mod = importlib.import_module("models." + name)
    kw = dict(task_name="long_term_forecast", seq_len=96, label_len=48, pred_len=H, enc_in=7, dec_in=7, c_out=7,
              d_model=512, n_heads=8, e_layers=2, d_layers=1, d_ff=2048, dropout=0.1, factor=3, embed="timeF",
              freq="h", activation="gelu", use_norm=1, output_attention=False, distil=True, moving_avg=25,
              patch_len=16, stride=8)
    kw.update(cfg)
    model = mod.Model(tslib_import.Args(**kw)).float()
    sd = model.state_dict()
    for k in sd:
        if k not in t:
            if k.endswith(".pe"):
                continue
            sys.exit("ts_train_parity: %s missing from %s" % (k, path))
        v = t[k].reshape(sd[k].shape)
        sd[k] = v.long() if k.endswith("num_batches_tracked") else v.to(sd[k].dtype)
    model.load_state_dict(sd)
    model.to(dev)
    loader = data_loader.Dataset_ETT_hour if "ETTh" in data else data_loader.Dataset_ETT_minute
    dsets = {}
    for part in ("train", "val"):
        dsets[part] = loader(tslib_import.Args(), os.path.dirname(os.path.abspath(data)), flag=part,
                             size=[96, 48, H], features="M", data_path=os.path.basename(data), target="OT",
                             timeenc=1, freq="h")
    order, ours, vals = t["order"].long(), t["loss"].double(), t["val"].double()
    E, n = order.shape
    if n != len(dsets["train"]):
        sys.exit("ts_train_parity: %d training windows here, %d in the dump" % (len(dsets["train"]), n))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    bs, steps = 32, (n + 31) // 32
    theirs = []
    worst, wstep, bad = 0.0, 0, False
    for e in range(E):
        for g in opt.param_groups:  # type1, as adjust_learning_rate after each epoch
            g["lr"] = 1e-4 * 0.5 ** max(e - 1, 0)
        model.train()
        for s in range(steps):
            x, y, xm, ym = (a.to(dev) for a in batch(dsets["train"], order[e, s * bs:(s + 1) * bs]))
            dec = torch.cat([y[:, :48], torch.zeros_like(y[:, -H:])], dim=1)
            opt.zero_grad()
            out = model(x, xm, dec, ym)[:, -H:, :]
            loss = torch.nn.functional.mse_loss(out, y[:, -H:, :])
            loss.backward()
            opt.step()
            k = e * steps + s
            theirs.append(loss.item())
            d = abs(ours[k].item() - loss.item()) / loss.item()
            if d > worst:
                worst, wstep = d, k + 1
            if k + 1 in (1, 2, 10, 50, 100, 200) or s == steps - 1:
                print("step %d\tours %.6f\ttorch %.6f\trel %.2e" % (k + 1, ours[k].item(), loss.item(), d))
        model.eval()
        se = cnt = 0.0
        with torch.no_grad():
            vd = dsets["val"]
            for i in range(0, len(vd), 64):
                x, y, xm, ym = (a.to(dev) for a in batch(vd, range(i, min(i + 64, len(vd)))))
                dec = torch.cat([y[:, :48], torch.zeros_like(y[:, -H:])], dim=1)
                dd = model(x, xm, dec, ym)[:, -H:, :] - y[:, -H:, :]
                se += (dd * dd).sum().item()
                cnt += dd.numel()
        v = se / cnt
        dv = abs(vals[e].item() - v) / v
        bad |= dv > 1e-3
        print("epoch %d\ttrain ours %.6f\ttorch %.6f" % (e + 1, ours[e * steps:(e + 1) * steps].mean().item(),
                                                      np.mean(theirs[e * steps:(e + 1) * steps])))
        print("epoch %d\tval ours %.6f\ttorch %.6f\trel %.2e" % (e + 1, vals[e].item(), v, dv))
    bad |= worst > 1e-3
    print("%s\tH%d\t%s\t%d steps\tworst step loss rel %.2e (step %d)\t%s" % (
        name, H, json.dumps(cfg, separators=(",", ":")), len(theirs), worst, wstep, "FAIL" if bad else "ok"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
