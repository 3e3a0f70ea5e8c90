#!/usr/bin/python3
"""make_ops.py - golden vectors for lib/ops kernels from PyTorch (1.13, CPU).

Run from the repository root:  /usr/bin/python3 tests/golden/make_ops.py
Writes tests/golden/ops/<case>.bin, read by tests/unit/test_ops.c.

File layout (little-endian):
    8 bytes  magic "DCGOLD1\\n"
    u32      nparams, then nparams x f64 (sizes, strides, eps ... per case)
    u32      ntensors, then per tensor:
             u32 ndim, ndim x u32 dims, prod(dims) x f32 data (row-major)
The meaning of params and the order of tensors per case are listed below
and mirrored in test_ops.c.
"""
import os
import struct

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops")


def write(name, params, tensors):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(b"DCGOLD1\n")
        f.write(struct.pack("<I", len(params)))
        f.write(struct.pack("<%dd" % len(params), *[float(p) for p in params]))
        f.write(struct.pack("<I", len(tensors)))
        for t in tensors:
            t = t.detach().to(torch.float32).contiguous()
            f.write(struct.pack("<I", t.dim()))
            f.write(struct.pack("<%dI" % t.dim(), *t.shape))
            f.write(t.numpy().astype("<f4").tobytes())


def main():
    torch.manual_seed(1234)
    torch.set_num_threads(1)

    # softmax: params N C; tensors x, out.  Rows scaled up to test stability.
    N, C = 7, 37
    x = torch.randn(N, C) * torch.tensor([1, 3, 10, 30, 100, 0.1, 1]).view(N, 1)
    write("softmax", [N, C], [x, torch.softmax(x, -1)])

    # layer_norm: params N C eps; tensors x, w, b, out, out_noaffine
    N, C, eps = 5, 67, 1e-6
    x = torch.randn(N, C) * 2 + 0.5
    w, b = torch.randn(C), torch.randn(C)
    write("layer_norm", [N, C, eps],
          [x, w, b, F.layer_norm(x, (C,), w, b, eps), F.layer_norm(x, (C,), None, None, eps)])

    # rms_norm (transformers T5LayerNorm formula): params N C eps; x, w, out
    N, C, eps = 4, 45, 1e-6
    x = torch.randn(N, C) * 1.5
    w = torch.randn(C)
    var = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
    write("rms_norm", [N, C, eps], [x, w, w * (x * torch.rsqrt(var + eps))])

    # group_norm: params B C S G eps; x[B][C][S], w, b, out
    B, C, H, W, G, eps = 2, 12, 5, 7, 4, 1e-5
    x = torch.randn(B, C, H, W) + 1.0
    w, b = torch.randn(C), torch.randn(C)
    write("group_norm", [B, C, H * W, G, eps],
          [x.reshape(B, C, H * W), w, b, F.group_norm(x, G, w, b, eps).reshape(B, C, H * W)])

    # activations: params n; x, gelu, gelu_tanh, silu
    x = torch.cat([torch.linspace(-12, 12, 481), torch.randn(519) * 3])
    write("act", [x.numel()],
          [x, F.gelu(x), F.gelu(x, approximate="tanh"), F.silu(x)])

    # conv1d: params B IC L OC K stride pad dil groups; x, W, b, y
    conv1d = [
        ("conv1d_a", 2, 6, 23, 8, 3, 2, 2, 2, 2),     # groups, dilation, stride
        ("conv1d_dw", 1, 5, 17, 5, 5, 1, 2, 1, 5),    # depthwise
        ("conv1d_b", 3, 16, 29, 12, 3, 1, 1, 1, 1),   # dense (GEMM path)
        ("conv1d_c", 1, 8, 31, 16, 5, 3, 0, 2, 1),    # stride 3, dil 2, no pad
    ]
    for name, B, IC, L, OC, K, s, p, d, g in conv1d:
        x = torch.randn(B, IC, L)
        Wt = torch.randn(OC, IC // g, K) * 0.3
        bt = torch.randn(OC)
        y = F.conv1d(x, Wt, bt, stride=s, padding=p, dilation=d, groups=g)
        write(name, [B, IC, L, OC, K, s, p, d, g], [x, Wt, bt, y])

    # conv2d: params B IC H W OC KH KW sh sw ph pw dh dw groups; x, W, b, y
    conv2d = [
        ("conv2d_a", 2, 4, 9, 11, 8, 3, 3, 2, 1, 1, 2, 1, 1, 1),   # stride, asym pad
        ("conv2d_g", 1, 6, 7, 10, 12, 3, 2, 1, 1, 1, 0, 2, 1, 2),  # groups, dilation
        ("conv2d_dw", 1, 5, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5),   # depthwise
        ("conv2d_pw", 2, 8, 5, 6, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1),   # pointwise
    ]
    for name, B, IC, H, W, OC, KH, KW, sh, sw, ph, pw, dh, dw, g in conv2d:
        x = torch.randn(B, IC, H, W)
        Wt = torch.randn(OC, IC // g, KH, KW) * 0.3
        bt = torch.randn(OC)
        y = F.conv2d(x, Wt, bt, stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=g)
        write(name, [B, IC, H, W, OC, KH, KW, sh, sw, ph, pw, dh, dw, g], [x, Wt, bt, y])


if __name__ == "__main__":
    main()
