#!/usr/bin/python3
# make_attention.py - golden vectors for tests/unit/test_attention.c, made with
# PyTorch 1.13 (no scaled_dot_product_attention there), per head:
#   out = torch.softmax(q @ k.T * scale + mask, dim=-1) @ v,  scale = 1/sqrt(D)
# computed in float64 from float32 inputs and stored as raw little-endian
# float32 in tests/golden/attention/<case>_{q,k,v,mask,out}.f32.
#   self:   q/k/v from one [N][3C] buffer (<case>_q.f32), N=M=64, H=2, D=72
#   cross:  q [77][C], k,v [120][C], H=2, D=64
#   masked: q [40][72], k,v [300][72], H=1, additive mask [40][300] with -inf
#           entries (row 3 fully masked -> zeros, as diffcore defines it)
# Run: /usr/bin/python3 tests/golden/make_attention.py   (from the repo root)
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention")


def attend(q, k, v, H, D, mask=None):
    N = q.shape[0]
    out = torch.zeros(N, H * D, dtype=torch.float64)
    for h in range(H):
        qh, kh, vh = (t[:, h * D:(h + 1) * D].double() for t in (q, k, v))
        s = qh @ kh.T * (1.0 / math.sqrt(D))
        if mask is not None:
            s = s + mask.double()
        p = torch.softmax(s, dim=-1)
        p = torch.nan_to_num(p, nan=0.0)  # fully masked rows -> 0
        out[:, h * D:(h + 1) * D] = p @ vh
    return out.float()


def save(name, t):
    t.contiguous().float().numpy().astype("<f4").tofile(os.path.join(OUT, name + ".f32"))


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(1234)

    N, H, D = 64, 2, 72
    C = H * D
    qkv = torch.randn(N, 3 * C, generator=g)
    save("self_q", qkv)
    save("self_out", attend(qkv[:, :C], qkv[:, C:2 * C], qkv[:, 2 * C:], H, D))

    N, M, H, D = 77, 120, 2, 64
    C = H * D
    q, k, v = (torch.randn(n, C, generator=g) for n in (N, M, M))
    for n, t in (("q", q), ("k", k), ("v", v)):
        save("cross_" + n, t)
    save("cross_out", attend(q, k, v, H, D))

    N, M, H, D = 40, 300, 1, 72
    q, k, v = (torch.randn(n, D, generator=g) for n in (N, M, M))
    mask = torch.randn(N, M, generator=g) * 2
    mask[torch.rand(N, M, generator=g) > 0.7] = -math.inf
    mask[3, :] = -math.inf
    for n, t in (("q", q), ("k", k), ("v", v), ("mask", mask)):
        save("masked_" + n, t)
    save("masked_out", attend(q, k, v, H, D, mask))


if __name__ == "__main__":
    main()
