#!/usr/bin/python3
# make_informer.py - golden tensors for tests/unit/test_informer.c, made by
# running Time-Series-Library's own Informer (models/Informer.py and its
# layers/) under PyTorch 1.13 on the CPU.  Nothing of TSLib is copied here:
# it is imported from the checkout given on the command line.
#
# Run (from the repo root):
#   /usr/bin/python3 tests/golden/make_informer.py PATH_TO_TSLIB
# Made with thuml/Time-Series-Library 4e938a1 (see tests/golden/tslib/SOURCE).
#
# Tiny config: B 3, seq_len 24, label_len 12, pred_len 12, enc_in = dec_in
# = c_out 5, 4 time features (timeF, freq 'h'), d_model 16, n_heads 2,
# e_layers 2 (one distilling ConvLayer), d_layers 1, d_ff 32, factor 3,
# gelu.  Every parameter and buffer is random (LayerNorm / BatchNorm affine
# and running statistics included).
#
# ProbAttention draws its sampled keys with torch.randint; this script
# wraps torch.randint to record every draw (in call order: encoder layers,
# then decoder self- and cross-attention) so that the C test can replay
# them (dc_informer_set_samples).  It also wraps Tensor.topk to measure the
# gap between the u-th and (u+1)-th largest sparsity measure M: a seed is
# kept only when every gap exceeds GAP, so float rounding cannot change
# which queries are chosen.
#
# Files in tests/golden/informer/ (raw files little-endian, C order):
#   informer.safetensors       state_dict (position_embedding.pe left out)
#   informer_x.f32 [B][L][C], informer_xmark.f32 [B][L][M],
#   informer_ymark.f32 [B][S+H][M]
#   informer_idx.i32           samples of the eval forward
#   informer_y.f32 [B][H][C]   eval forward (BatchNorm running statistics)
#   informer_train_idx.i32     samples of the train forward
#   informer_train_y.f32       train forward, same weights, dropout 0
#   informer_target.f32        MSE target
#   informer_grad.safetensors  d MSE / d parameter
#   informer_after.safetensors BatchNorm buffers after the train forward
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "informer")
B, L, S, H, C, M = 3, 24, 12, 12, 5, 4
GAP = 2e-4

sys.path.insert(0, HERE)
from make_tslib import write_safetensors  # noqa: E402
import tslib_import  # noqa: E402


def config(dropout):
    return tslib_import.Args(
        task_name="long_term_forecast", seq_len=L, label_len=S, pred_len=H,
        enc_in=C, dec_in=C, c_out=C, d_model=16, n_heads=2, e_layers=2, d_layers=1,
        d_ff=32, factor=3, dropout=dropout, embed="timeF", freq="h", activation="gelu",
        output_attention=False, distil=True, num_class=1)


def randomise(model, g):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("position_embedding.pe"):
                continue
            if name.endswith("num_batches_tracked"):
                t.fill_(7)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif "norm" in name and name.endswith("weight"):
                t.copy_(1.0 + 0.2 * torch.randn(t.shape, generator=g))
            else:
                t.copy_(0.3 * torch.randn(t.shape, generator=g))


class Recorder:
    def __init__(self):
        self.draws, self.gap = [], float("inf")
        self._randint, self._topk = torch.randint, torch.Tensor.topk
        rec = self

        def randint(*a, **k):
            r = rec._randint(*a, **k)
            rec.draws.append(r.clone())
            return r

        def topk(t, k, *a, **kw):
            if k < t.shape[-1]:
                v = t.detach().sort(dim=-1, descending=True)[0]
                rec.gap = min(rec.gap, (v[..., k - 1] - v[..., k]).min().item())
            return rec._topk(t, k, *a, **kw)

        torch.randint = randint
        torch.Tensor.topk = topk

    def reset(self):
        self.draws, self.gap = [], float("inf")

    def flat(self):
        return np.concatenate([d.numpy().astype("<i4").ravel() for d in self.draws])


def save(name, a, dt="<f4"):
    np.ascontiguousarray(a, dtype=dt).tofile(os.path.join(OUT, name))


def attempt(Informer, rec, seed):
    g = torch.Generator().manual_seed(seed)
    model = Informer.Model(config(0.1)).float()
    randomise(model, g)
    model.eval()
    x = torch.randn(B, L, C, generator=g) * 2.0 + 1.0
    xm = torch.rand(B, L, M, generator=g) - 0.5
    ym = torch.rand(B, S + H, M, generator=g) - 0.5
    xdec = torch.cat([x[:, L - S:, :], torch.zeros(B, H, C)], dim=1)
    torch.manual_seed(seed)
    rec.reset()
    with torch.no_grad():
        y = model(x.clone(), xm, xdec, ym)
    idx, gap_eval = rec.flat(), rec.gap
    tm = Informer.Model(config(0.0)).float()
    tm.load_state_dict(model.state_dict())
    tm.train()
    target = torch.randn(B, H, C, generator=g)
    rec.reset()
    yt = tm(x.clone(), xm, xdec, ym)
    tidx, gap_train = rec.flat(), rec.gap
    gap = min(gap_eval, gap_train)
    if gap < GAP:
        print(f"seed {seed}: top-u gap {gap:.2e} too small, next seed")
        return False
    loss = torch.mean((yt - target) ** 2)
    loss.backward()
    sd = [(k, v.detach().numpy()) for k, v in model.state_dict().items()
          if not k.endswith("position_embedding.pe")]
    write_safetensors(os.path.join(OUT, "informer.safetensors"), sd)
    save("informer_x.f32", x.numpy())
    save("informer_xmark.f32", xm.numpy())
    save("informer_ymark.f32", ym.numpy())
    save("informer_idx.i32", idx, "<i4")
    save("informer_y.f32", y.numpy())
    save("informer_train_idx.i32", tidx, "<i4")
    save("informer_train_y.f32", yt.detach().numpy())
    save("informer_target.f32", target.numpy())
    grads = [(k, p.grad.detach().numpy()) for k, p in tm.named_parameters() if p.grad is not None]
    write_safetensors(os.path.join(OUT, "informer_grad.safetensors"), grads)
    bufs = [(k, v.detach().numpy()) for k, v in tm.state_dict().items()
            if "running" in k or "num_batches" in k]
    write_safetensors(os.path.join(OUT, "informer_after.safetensors"), bufs)
    print(f"seed {seed}: {len(sd)} tensors, {len(idx)} samples per forward, top-u gap {gap:.2e}, "
          f"|y| max {y.abs().max():.3f}, loss {loss.item():.5f}")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tslib", help="path to a Time-Series-Library checkout")
    a = ap.parse_args()
    tslib_import.setup(os.path.abspath(a.tslib))
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    from models import Informer  # noqa: E402 (TSLib's own code)
    rec = Recorder()
    for seed in range(1, 100):
        if attempt(Informer, rec, seed):
            break


if __name__ == "__main__":
    main()
