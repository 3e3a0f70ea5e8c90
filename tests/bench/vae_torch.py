#!/usr/bin/python3
# vae_torch.py - the PyTorch peer of tests/bench/bench_vae.c: diffusers'
# AutoencoderKL decoder (post_quant_conv + Decoder) transcribed in plain
# torch (diffusers itself does not import under Debian's torch 1.13), with
# the same module names, so the state dict of bench_vae's model folder loads
# as is.  Attention as diffusers' AttnProcessor (baddbmm, softmax, bmm) --
# torch 1.13 has no scaled_dot_product_attention.
#
# Usage: vae_torch.py DIR [-t threads] [-r runs] [-s LAT] [--label L]
# Decodes DIR/z<LAT>.f32 (written by bench_vae) when present, else randn.
# Prints "RESULT label LAT min_ms median_ms peak_MiB" and the image mean.
import argparse
import json
import os
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from st_io import read_safetensors


class Resnet(nn.Module):
    def __init__(self, cin, cout, g):
        super().__init__()
        self.norm1 = nn.GroupNorm(g, cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(g, cout, eps=1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Attn(nn.Module):
    def __init__(self, c, g):
        super().__init__()
        self.group_norm = nn.GroupNorm(g, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])
        self.scale = c ** -0.5

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        s = torch.baddbmm(torch.empty(b, h * w, h * w, dtype=q.dtype), q, k.transpose(1, 2),
                          beta=0, alpha=self.scale)
        o = torch.bmm(s.softmax(dim=-1), v)
        o = self.to_out[0](o).transpose(1, 2).reshape(b, c, h, w)
        return o + x


class Mid(nn.Module):
    def __init__(self, c, g):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(c, c, g), Resnet(c, c, g)])
        self.attentions = nn.ModuleList([Attn(c, g)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Up(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UpBlock(nn.Module):
    def __init__(self, cin, cout, n, g, up):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(cin if i == 0 else cout, cout, g) for i in range(n)])
        self.upsamplers = nn.ModuleList([Up(nn.Conv2d(cout, cout, 3, padding=1))]) if up else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class Decoder(nn.Module):
    def __init__(self, boc, layers, g, lat, out):
        super().__init__()
        self.conv_in = nn.Conv2d(lat, boc[-1], 3, padding=1)
        self.mid_block = Mid(boc[-1], g)
        rev = list(reversed(boc))
        self.up_blocks = nn.ModuleList()
        prev = rev[0]
        for i, oc in enumerate(rev):
            self.up_blocks.append(UpBlock(prev, oc, layers + 1, g, i < len(boc) - 1))
            prev = oc
        self.conv_norm_out = nn.GroupNorm(g, boc[0], eps=1e-6)
        self.conv_out = nn.Conv2d(boc[0], out, 3, padding=1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class VAE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        lat = cfg["latent_channels"]
        self.post_quant_conv = nn.Conv2d(lat, lat, 1)
        self.decoder = Decoder(cfg["block_out_channels"], cfg["layers_per_block"],
                               cfg["norm_num_groups"], lat, cfg["out_channels"])

    def forward(self, z):
        return self.decoder(self.post_quant_conv(z))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-s", type=int, default=64)
    ap.add_argument("--label", default="torch")
    a = ap.parse_args()
    torch.set_num_threads(a.t)
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    m = VAE(cfg).eval()
    m.load_state_dict(read_safetensors(os.path.join(a.dir, "diffusion_pytorch_model.safetensors"))[0])
    zp = os.path.join(a.dir, "z%d.f32" % a.s)
    if os.path.exists(zp):
        z = torch.from_numpy(np.fromfile(zp, dtype=np.float32).reshape(1, 4, a.s, a.s))
    else:
        z = torch.randn(1, 4, a.s, a.s)
    ts = []
    with torch.inference_mode():
        for _ in range(a.r):
            t0 = time.perf_counter()
            img = m(z)
            ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("%s decode %dx%d latent: min %.0f ms, median %.0f ms, peak RSS %.0f MiB, image mean %.6f"
          % (a.label, a.s, a.s, ts[0], ts[len(ts) // 2], peak, img.double().mean().item()))
    print("RESULT %s %d %.1f %.1f %.0f" % (a.label, a.s, ts[0], ts[len(ts) // 2], peak))


if __name__ == "__main__":
    main()
