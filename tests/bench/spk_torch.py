#!/usr/bin/python3
"""spk_torch.py - the PyTorch peer of bench_spk: the ECAPA-TDNN of a
bench_spk model folder (config.json + embedding_model.safetensors, keys as
SpeechBrain's state_dict), timed on the folder's feats.f32.

The model is SpeechBrain's own ECAPA_TDNN class when importable (an
installed `speechbrain`, or the source tree named by $SPEECHBRAIN_SRC, e.g.
.ref/sb/speechbrain), else share/diffcore/train/ecapa_model.py's plain-torch transcription (the same
operations: reflect-padded "same" Conv1d, ReLU, BatchNorm1d in eval mode,
SE-Res2Net blocks, MFA, attentive statistics pooling with global context,
asp_bn, fc).  Runs under torch.inference_mode() with torch.set_num_threads(-t).

    spk_torch.py DIR [-t threads] [-r runs] [-T frames] [--label torch]

Prints the embedding's sum and first values (bench_spk's must agree) and
"RESULT label frames min_ms median_ms".
"""
import argparse
import json
import os
import sys
import time
import types

import numpy as np
import torch


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "share", "diffcore", "train"))
from ecapa_model import ECAPA  # noqa: E402  (the plain-torch transcription)
from st_io import read_safetensors  # noqa: E402


def build(cfg):
    kw = dict(input_size=cfg["in_channels"], lin_neurons=cfg["lin_neurons"],
              channels=cfg["channels"], kernel_sizes=cfg["kernel_sizes"],
              dilations=cfg["dilations"], attention_channels=cfg.get("attention_channels", 128),
              res2net_scale=cfg.get("res2net_scale", 8), se_channels=cfg.get("se_channels", 128),
              global_context=cfg.get("global_context", True))
    src = os.environ.get("SPEECHBRAIN_SRC")
    try:
        if src:
            torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler._LRScheduler
            pkg = types.ModuleType("speechbrain")
            pkg.__path__ = [src]
            sys.modules["speechbrain"] = pkg
        from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN
        return ECAPA_TDNN(**kw), "speechbrain ECAPA_TDNN"
    except Exception:
        return ECAPA(**kw), "plain-torch transcription"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=20)
    ap.add_argument("-T", type=int, default=300)
    ap.add_argument("--label", default="torch")
    a = ap.parse_args()
    torch.set_num_threads(a.t)
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    model, kind = build(cfg)
    sd = read_safetensors(os.path.join(a.dir, "embedding_model.safetensors"))[0]
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), \
        (missing, unexpected)
    model.eval()
    feats = np.fromfile(os.path.join(a.dir, "feats.f32"), dtype="<f4")
    x = torch.from_numpy(feats[:a.T * cfg["in_channels"]].reshape(1, a.T, cfg["in_channels"]).copy())
    ts = []
    with torch.inference_mode():
        for r in range(a.r + 1):
            t0 = time.perf_counter()
            emb = model(x).reshape(-1)
            if r:
                ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    print("%s (%s, torch %s) %d frames, %d threads: min %.2f ms, median %.2f ms; emb sum %.5f, "
          "emb[0..2] %.5f %.5f %.5f" % (a.label, kind, torch.__version__, a.T, a.t, ts[0],
                                        ts[len(ts) // 2], emb.sum().item(), emb[0].item(),
                                        emb[1].item(), emb[2].item()))
    print("RESULT %s %d %.3f %.3f" % (a.label, a.T, ts[0], ts[len(ts) // 2]))


if __name__ == "__main__":
    main()
