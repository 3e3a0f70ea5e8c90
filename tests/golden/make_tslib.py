#!/usr/bin/python3
# make_tslib.py - golden tensors for tests/unit/test_itransformer.c and
# tests/unit/test_patchtst.c, made by running Time-Series-Library's own
# model code (models/iTransformer.py, models/PatchTST.py and their layers/)
# under PyTorch 1.13 on the CPU.  Nothing of TSLib is copied here: the
# script imports it from the checkout given on the command line.
#
# Run (from the repo root):
#   /usr/bin/python3 tests/golden/make_tslib.py PATH_TO_TSLIB
# Made with thuml/Time-Series-Library at the commit printed into
# tests/golden/tslib/SOURCE.
#
# Tiny config: B 3, seq_len 24, pred_len 12, enc_in 5, 4 time features
# (timeF, freq 'h'), d_model 16, n_heads 2, e_layers 2, d_ff 32, gelu.
# Every parameter and buffer gets random values (LayerNorm / BatchNorm
# affine and running statistics included) so that a wrong mapping shows.
#
# Per model NAME in {itransformer, patchtst}, in tests/golden/tslib/:
#   NAME.safetensors         state_dict (hand-written safetensors; the fixed
#                            sinusoid buffer position_embedding.pe is left
#                            out: diffcore recomputes it)
#   NAME_x.f32 [B][L][C], NAME_xmark.f32 [B][L][4], NAME_y.f32 [B][H][C]
#                            eval-mode forward (dropout off, BatchNorm with
#                            running statistics)
#   NAME_train_y.f32         train-mode forward of the same weights rebuilt
#                            with dropout 0 (BatchNorm batch statistics)
#   NAME_target.f32          [B][H][C] target of the MSE loss
#   NAME_grad.safetensors    d MSE / d parameter after that train forward
#   NAME_after.safetensors   BatchNorm buffers after the train forward
#                            (PatchTST only)
# All raw files are little-endian float32, C order.
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tslib")
B, L, H, C, M = 3, 24, 12, 5, 4


def write_safetensors(path, tensors):
    """tensors: list of (name, np.ndarray) in f32 or i64."""
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        dt = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def config(dropout):
    return argparse.Namespace(
        task_name="long_term_forecast", seq_len=L, label_len=0, pred_len=H,
        enc_in=C, dec_in=C, c_out=C, d_model=16, n_heads=2, e_layers=2, d_layers=1,
        d_ff=32, factor=1, dropout=dropout, embed="timeF", freq="h", activation="gelu",
        output_attention=False, num_class=1, moving_avg=25, top_k=5, num_kernels=6,
        distil=True, patch_len=16, stride=8)


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


def state(model):
    return [(k, v.detach().numpy()) for k, v in model.state_dict().items()
            if not k.endswith("position_embedding.pe")]


def save(name, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(os.path.join(OUT, name + ".f32"))


def run(tag, module, seed):
    g = torch.Generator().manual_seed(seed)
    model = module.Model(config(0.1)).float()
    randomise(model, g)
    model.eval()
    x = torch.randn(B, L, C, generator=g) * 2.0 + 1.0
    xm = torch.rand(B, L, M, generator=g) - 0.5
    xdec = torch.zeros(B, H, C)
    ymark = torch.zeros(B, H, M)
    with torch.no_grad():
        y = model(x.clone(), xm, xdec, ymark)
    sd = state(model)
    write_safetensors(os.path.join(OUT, tag + ".safetensors"), sd)
    save(tag + "_x", x.numpy())
    save(tag + "_xmark", xm.numpy())
    save(tag + "_y", y.numpy())
    # training mode, dropout 0: the same weights in a model built with p = 0
    tm = module.Model(config(0.0)).float()
    tm.load_state_dict(model.state_dict())
    tm.train()
    target = torch.randn(B, H, C, generator=g)
    yt = tm(x.clone(), xm, xdec, ymark)
    loss = torch.mean((yt - target) ** 2)
    loss.backward()
    save(tag + "_train_y", yt.detach().numpy())
    save(tag + "_target", target.numpy())
    grads = [(k, p.grad.detach().numpy()) for k, p in tm.named_parameters() if p.grad is not None]
    write_safetensors(os.path.join(OUT, tag + "_grad.safetensors"), grads)
    bufs = [(k, v.detach().numpy()) for k, v in tm.state_dict().items()
            if "running" in k or "num_batches" in k]
    if bufs:
        write_safetensors(os.path.join(OUT, tag + "_after.safetensors"), bufs)
    print(f"{tag}: {len(sd)} tensors, |y| max {y.abs().max():.3f}, loss {loss.item():.5f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tslib", help="path to a Time-Series-Library checkout")
    ap.add_argument("--rev", default=None, help="TSLib commit, recorded in SOURCE")
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.tslib))
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    # layers/SelfAttention_Family.py imports reformer_pytorch (for a model we
    # do not use); stand in an empty module when it is not installed
    import types
    for mod, names in (("reformer_pytorch", ["LSHSelfAttention"]), ("einops", ["rearrange", "repeat"])):
        try:
            __import__(mod)
        except ImportError:
            stub = types.ModuleType(mod)
            for n in names:
                setattr(stub, n, None)
            sys.modules[mod] = stub
    from models import iTransformer, PatchTST  # noqa: E402 (TSLib's own code)
    run("itransformer", iTransformer, 1)
    run("patchtst", PatchTST, 2)
    rev = a.rev or "unknown"
    try:
        rev = subprocess.run(["git", "-C", a.tslib, "rev-parse", "HEAD"], capture_output=True,
                             text=True).stdout.strip() or rev if not a.rev else rev
    except OSError:
        pass
    with open(os.path.join(OUT, "SOURCE"), "w") as f:
        f.write(f"thuml/Time-Series-Library {rev}\ntorch {torch.__version__}\n")


if __name__ == "__main__":
    main()
