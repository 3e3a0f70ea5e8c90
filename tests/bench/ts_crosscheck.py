#!/usr/bin/python3
"""ts_crosscheck.py - score a ts-forecast model file with Time-Series-Library's
own model and data code: is a score ours, or the weights'?

  /usr/bin/python3 tests/bench/ts_crosscheck.py TSLIB MODEL.st DATA.csv [val|test|train ...]

TSLIB is a Time-Series-Library checkout (imported from there, nothing of it
copied; tests/golden/tslib_import.py stands in for packages Debian's
python3-torch lacks).  MODEL.st is written by `ts-forecast fit` (its tensors
carry TSLib's state_dict names; the model's settings are in its "config"
metadata, TSLib's argument names, run.py's defaults for the rest).  DATA.csv
is split and scaled by TSLib's loader for the file (ETTh* Dataset_ETT_hour,
ETTm* Dataset_ETT_minute, else Dataset_Custom), so the split is TSLib's: fit
the model with --split ett (ETT) or the 0.7/0.1/0.2 default (others) for the
numbers to be comparable with `ts-forecast eval`.

Prints one line per part: part windows mse mae (every window, scaled data,
the model in eval mode, decoder input as TSLib's training loop builds it).
For a model `ts-forecast eval` trained, the test line repeats eval's scores:
ts-forecast(1) ACCURACY quotes such checks (PatchTST ETTh2 96, Autoformer
ETTh1 192).  Informer's are not exact: TSLib's ProbSparse attention draws
its sampled keys from torch's generator in evaluation too.
"""
import importlib
import json
import os
import sys

import numpy as np
import torch

from st_io import read_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.split("\n\n")[1])
    tslib, model_path, data = sys.argv[1], sys.argv[2], sys.argv[3]
    parts = sys.argv[4:] or ["test"]
    sys.path.insert(0, os.path.join(HERE, "..", "golden"))
    import tslib_import
    tslib_import.setup(tslib, only_missing=True)
    sys.path.insert(0, tslib)
    from data_provider import data_loader

    tensors, meta = read_safetensors(model_path)
    if "config" not in meta:
        sys.exit("ts_crosscheck: %s: no config metadata (not a ts-forecast model file)" % model_path)
    cfg = json.loads(meta["config"])
    freq = "t" if cfg.get("mark_freq") == "t" else "h"
    # run.py's defaults, then the model file's settings
    a = dict(task_name="long_term_forecast", d_model=512, n_heads=8, e_layers=2, d_layers=1, d_ff=2048,
             moving_avg=25, factor=1, distil=True, dropout=0.1, embed="timeF", activation="gelu",
             output_attention=False, channel_independence=1, decomp_method="moving_avg", use_norm=1,
             patch_len=16, stride=8, top_k=5, num_kernels=6, num_class=1, freq=freq, seg_len=96,
             expand=2, d_conv=4, down_sampling_layers=0, down_sampling_window=1, down_sampling_method=None)
    a.update(cfg)
    args = tslib_import.Args(**a)
    torch.manual_seed(0)
    model = importlib.import_module("models." + cfg["model"]).Model(args)
    want = model.state_dict()
    missing = [k for k in want if k not in tensors]
    # fixed tables ts-forecast recomputes instead of storing (positional encodings)
    if any(not k.endswith(".pe") for k in missing):
        sys.exit("ts_crosscheck: %s lacks %s" % (model_path, ", ".join(missing)))
    sd = {k: tensors.get(k, want[k]) for k in want}
    for k in sd:
        if k.endswith("num_batches_tracked"):
            sd[k] = sd[k].long().reshape(want[k].shape)
    model.load_state_dict(sd)
    model.eval()

    stem = os.path.basename(data).split(".")[0]
    loader = (data_loader.Dataset_ETT_hour if stem.startswith("ETTh") else
              data_loader.Dataset_ETT_minute if stem.startswith("ETTm") else data_loader.Dataset_Custom)
    seq, lab, pred = cfg["seq_len"], cfg["label_len"], cfg["pred_len"]
    f_dim = -1 if cfg.get("features") == "MS" else 0
    for part in parts:
        ds = loader(args, os.path.dirname(os.path.abspath(data)), flag=part, size=[seq, lab, pred],
                    features=cfg.get("features", "M"), data_path=os.path.basename(data),
                    target=cfg.get("target", "OT"), timeenc=1, freq=freq)
        se = ae = count = 0.0
        with torch.no_grad():
            for i in range(0, len(ds), 64):
                items = [ds[j] for j in range(i, min(i + 64, len(ds)))]
                x, y, xm, ym = (torch.tensor(np.stack([it[k] for it in items]), dtype=torch.float32)
                                for k in range(4))
                dec = torch.cat([y[:, :lab], torch.zeros_like(y[:, -pred:])], dim=1)
                out = model(x, xm, dec, ym)[:, -pred:, f_dim:]
                d = out - y[:, -pred:, f_dim:]
                se += (d * d).sum().item()
                ae += d.abs().sum().item()
                count += d.numel()
        print("%s\t%d\t%.6f\t%.6f" % (part, len(ds), se / count, ae / count))


if __name__ == "__main__":
    main()
