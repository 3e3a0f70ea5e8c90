#!/usr/bin/python3
# make_autoformer.py - golden tensors for tests/unit/test_autoformer.c, made
# by running Time-Series-Library's own Autoformer (models/Autoformer.py,
# layers/Autoformer_EncDec.py, layers/AutoCorrelation.py, layers/Embed.py)
# under PyTorch 1.13 on the CPU.  Nothing of TSLib is copied here: it is
# imported from the checkout given on the command line (via tslib_import.py).
#
# Run (from the repo root):
#   /usr/bin/python3 tests/golden/make_autoformer.py PATH_TO_TSLIB [--rev COMMIT]
# Made with thuml/Time-Series-Library at the commit recorded in
# tests/golden/autoformer/SOURCE.
#
# Tiny config: B 3, seq_len 24, enc_in = c_out 5, 4 time features (timeF,
# freq 'h'), d_model 16, n_heads 2, e_layers 2, d_layers 1, d_ff 32,
# moving_avg 5, factor 3, gelu.  Autoformer's parameters do not depend on
# the lengths, so one random state_dict serves three length variants:
#   base   label_len 12, pred_len 12 (decoder length 24 = encoder length)
#   pad    label_len 12, pred_len 13 (25: cross-correlation zero-pads K, V;
#          odd length)
#   trunc  label_len 6,  pred_len 8  (14: K, V truncated)
# Every parameter gets random values (N(0, 0.2^2); LayerNorm weights
# 1 + N(0, 0.2^2)): larger weights saturate the delay softmax so much that
# torch float32 itself strays 7e-5 from float64.
#
# Files in tests/golden/autoformer/ (raw little-endian float32, C order):
#   state.safetensors      state_dict without the unused position_embedding.pe
#   x.f32 [B][24][C], xmark.f32 [B][24][4]
#   V_ymark.f32 [B][S+H][4], V_y.f32 [B][H][C] eval-mode forward (dropout
#                          off, time_delay_agg_inference)
#   V_train_y.f32          train-mode forward with dropout 0
#                          (time_delay_agg_training)
#   V_target.f32 [B][H][C] MSE target; V_grad.safetensors d MSE / d params
# for each variant V.
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "autoformer")
B, L, C, M = 3, 24, 5, 4
VARIANTS = (("base", 12, 12), ("pad", 12, 13), ("trunc", 6, 8))


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a, dtype="<f4")
        raw = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def config(label, pred, dropout):
    return argparse.Namespace(
        task_name="long_term_forecast", seq_len=L, label_len=label, pred_len=pred,
        enc_in=C, dec_in=C, c_out=C, d_model=16, n_heads=2, e_layers=2, d_layers=1,
        d_ff=32, factor=3, dropout=dropout, embed="timeF", freq="h", activation="gelu",
        output_attention=False, moving_avg=5)


def save(name, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(os.path.join(OUT, name + ".f32"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tslib", help="path to a Time-Series-Library checkout")
    ap.add_argument("--rev", default=None, help="TSLib commit, recorded in SOURCE")
    a = ap.parse_args()
    sys.path.insert(0, HERE)
    import tslib_import
    tslib_import.setup(os.path.abspath(a.tslib))
    from models import Autoformer  # TSLib's own code
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(4)
    ref = Autoformer.Model(config(12, 12, 0.1)).float()
    with torch.no_grad():
        for name, t in ref.state_dict().items():
            if name.endswith("position_embedding.pe"):
                continue
            if "norm" in name and name.endswith("weight"):
                t.copy_(1.0 + 0.2 * torch.randn(t.shape, generator=g))
            else:
                t.copy_(0.2 * torch.randn(t.shape, generator=g))
    sd = {k: v for k, v in ref.state_dict().items() if not k.endswith("position_embedding.pe")}
    write_safetensors(os.path.join(OUT, "state.safetensors"), [(k, v.numpy()) for k, v in sd.items()])
    x = torch.randn(B, L, C, generator=g) * 2.0 + 1.0
    xm = torch.rand(B, L, M, generator=g) - 0.5
    save("x", x.numpy())
    save("xmark", xm.numpy())
    for tag, S, H in VARIANTS:
        ym = torch.cat([xm[:, L - S:], torch.rand(B, H, M, generator=g) - 0.5], 1)
        xdec = torch.zeros(B, S + H, C)
        model = Autoformer.Model(config(S, H, 0.1)).float()
        model.load_state_dict(sd, strict=False)
        model.eval()
        with torch.no_grad():
            y = model(x.clone(), xm, xdec, ym)
        tm = Autoformer.Model(config(S, H, 0.0)).float()
        tm.load_state_dict(sd, strict=False)
        tm.train()
        target = torch.randn(B, H, C, generator=g)
        yt = tm(x.clone(), xm, xdec, ym)
        loss = torch.mean((yt - target) ** 2)
        loss.backward()
        save(tag + "_ymark", ym.numpy())
        save(tag + "_y", y.numpy())
        save(tag + "_train_y", yt.detach().numpy())
        save(tag + "_target", target.numpy())
        grads = [(k, p.grad.detach().numpy()) for k, p in tm.named_parameters() if p.grad is not None]
        write_safetensors(os.path.join(OUT, tag + "_grad.safetensors"), grads)
        print(f"{tag}: |y| max {y.abs().max():.3f}, train |y| max {yt.abs().max():.3f}, "
              f"loss {loss.item():.5f}, {len(grads)} gradients")
    rev = a.rev or subprocess.run(["git", "-C", a.tslib, "rev-parse", "HEAD"], capture_output=True,
                                  text=True).stdout.strip() or "unknown"
    with open(os.path.join(OUT, "SOURCE"), "w") as f:
        f.write(f"thuml/Time-Series-Library {rev}\ntorch {torch.__version__}\n")


if __name__ == "__main__":
    main()
