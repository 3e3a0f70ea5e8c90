#!/usr/bin/python3
# dit_torch.py - the PixArt-alpha DiT forward of bench_dit.c in plain PyTorch
# (1.13: no scaled_dot_product_attention, so softmax(q k^T s) v via bmm),
# batch 1, f32, no_grad, with the same synthetic weights and inputs
# (dc_pixart_new_synthetic: each tensor W[i] = sin(0.7 i)/sqrt(fan_in),
# vectors and scale_shift_tables 0.02 sin(0.7 i); latents sin(0.3 i), text
# 0.5 sin(0.11 i), t = 500, resolution = image size, aspect 1).  Same maths
# as diffusers' PixArtTransformer2DModel (fused q/k/v and k/v GEMMs: the
# fastest form for torch).
#   usage: dit_torch.py [-t threads] [-r runs] [--label NAME] SIDE...
# Prints "RESULT <label> tokens min_ms median_ms" and "CHECK <label> tokens
# mean|out| out[0] out[1]" per SIDE.  BENCH_LAYERS overrides the 28 layers.
import argparse
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

D, HEADS, HD, FF, CAP, T, P = 1152, 16, 72, 4608, 4096, 120, 2
S = D // 3
BASE = None


def synth(shape, fan_in):
    n = 1
    for s in shape:
        n *= s
    sd = torch.tensor(1.0, dtype=torch.float32) / torch.sqrt(torch.tensor(float(fan_in))) \
        if fan_in else torch.tensor(0.02, dtype=torch.float32)
    return (BASE[:n].clone() * sd).view(*shape)


def sinus(t):
    i = torch.arange(128, dtype=torch.float32)
    e = torch.exp(-math.log(10000.0) * i / 128.0)
    a = t[:, None].float() * e[None]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=-1)


def pos_embed(gh, gw, base, interp):
    gr = torch.arange(gh, dtype=torch.float32) / (gh / base) / interp
    gc = torch.arange(gw, dtype=torch.float32) / (gw / base) / interp
    om = torch.arange(D // 4, dtype=torch.float64) / (D / 4.0)
    om = 1.0 / 10000 ** om

    def e1(pos):
        o = torch.outer(pos.reshape(-1).double(), om)
        return torch.cat([torch.sin(o), torch.cos(o)], dim=1)
    col = gc[None, :].expand(gh, gw)
    row = gr[:, None].expand(gh, gw)
    return torch.cat([e1(col), e1(row)], dim=1).float()


def attention(q, k, v):
    n, m = q.shape[0], k.shape[0]
    q = q.reshape(n, HEADS, HD).transpose(0, 1)
    k = k.reshape(m, HEADS, HD).transpose(0, 1)
    v = v.reshape(m, HEADS, HD).transpose(0, 1)
    p = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (1.0 / math.sqrt(HD)), dim=-1)
    return torch.bmm(p, v).transpose(0, 1).reshape(n, D)


def mlp2(x, w1, b1, w2, b2):
    return F.linear(F.silu(F.linear(x, w1, b1)), w2, b2)


def forward(W, lat, t, text, res, ar, pos):
    x = F.conv2d(lat, W["pe_w"], W["pe_b"], stride=P).flatten(2).transpose(1, 2)[0] + pos
    temb = mlp2(sinus(t), *W["te"])
    r = mlp2(sinus(res.flatten()), *W["re"]).reshape(1, -1)
    a = mlp2(sinus(ar.flatten()), *W["ae"]).reshape(1, -1)
    temb = temb + torch.cat([r, a], dim=1)
    t6 = F.linear(F.silu(temb), W["ada_w"], W["ada_b"]).view(6, D)
    y = F.linear(F.gelu(F.linear(text, W["cap1_w"], W["cap1_b"]), approximate="tanh"),
                 W["cap2_w"], W["cap2_b"])
    for w in W["blocks"]:
        sh_msa, sc_msa, g_msa, sh_mlp, sc_mlp, g_mlp = (w["sst"] + t6).unbind(0)
        h = F.layer_norm(x, (D,), eps=1e-6) * (1 + sc_msa) + sh_msa
        q, k, v = F.linear(h, w["Wqkv"], w["bqkv"]).chunk(3, dim=-1)
        x = x + g_msa * F.linear(attention(q, k, v), w["Wo"], w["bo"])
        q = F.linear(x, w["Wq"], w["bq"])
        k, v = F.linear(y, w["Wkv"], w["bkv"]).chunk(2, dim=-1)
        x = x + F.linear(attention(q, k, v), w["Wo2"], w["bo2"])
        h = F.layer_norm(x, (D,), eps=1e-6) * (1 + sc_mlp) + sh_mlp
        h = F.linear(F.gelu(F.linear(h, w["W1"], w["b1"]), approximate="tanh"), w["W2"], w["b2"])
        x = x + g_mlp * h
    shift, scale = (W["sst_out"] + temb).unbind(0)
    x = F.layer_norm(x, (D,), eps=1e-6) * (1 + scale) + shift
    x = F.linear(x, W["po_w"], W["po_b"])
    gh = lat.shape[-2] // P
    gw = lat.shape[-1] // P
    x = x.reshape(1, gh, gw, P, P, 8)
    x = torch.einsum("nhwpqc->nchpwq", x)
    return x.reshape(1, 8, gh * P, gw * P)


def weights(layers):
    W = {"pe_w": synth((D, 4, P, P), 16), "pe_b": synth((D,), 0)}
    W["te"] = (synth((D, 256), 256), synth((D,), 0), synth((D, D), D), synth((D,), 0))
    W["re"] = (synth((S, 256), 256), synth((S,), 0), synth((S, S), S), synth((S,), 0))
    W["ae"] = (synth((S, 256), 256), synth((S,), 0), synth((S, S), S), synth((S,), 0))
    W["ada_w"], W["ada_b"] = synth((6 * D, D), D), synth((6 * D,), 0)
    W["cap1_w"], W["cap1_b"] = synth((D, CAP), CAP), synth((D,), 0)
    W["cap2_w"], W["cap2_b"] = synth((D, D), D), synth((D,), 0)
    W["sst_out"] = synth((2, D), 0)
    W["po_w"], W["po_b"] = synth((P * P * 8, D), D), synth((P * P * 8,), 0)
    W["blocks"] = []
    for _ in range(layers):
        # diffusers key order of dc_pixart's block table: to_q/k/v, to_out, attn2 ..., ff
        m = lambda: synth((D, D), D)
        v = lambda: synth((D,), 0)
        b = {"sst": synth((6, D), 0)}
        q, qb, k, kb, vv, vb = m(), v(), m(), v(), m(), v()
        b["Wqkv"], b["bqkv"] = torch.cat([q, k, vv]), torch.cat([qb, kb, vb])
        b["Wo"], b["bo"] = m(), v()
        b["Wq"], b["bq"] = m(), v()
        k, kb, vv, vb = m(), v(), m(), v()
        b["Wkv"], b["bkv"] = torch.cat([k, vv]), torch.cat([kb, vb])
        b["Wo2"], b["bo2"] = m(), v()
        b["W1"], b["b1"] = synth((FF, D), D), synth((FF,), 0)
        b["W2"], b["b2"] = synth((D, FF), FF), synth((D,), 0)
        W["blocks"].append(b)
    return W


def main():
    global BASE
    ap = argparse.ArgumentParser()
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("--label", default="torch")
    ap.add_argument("side", type=int, nargs="*", default=[512, 1024])
    a = ap.parse_args()
    torch.set_num_threads(a.t)
    layers = int(os.environ.get("BENCH_LAYERS", "28"))
    BASE = torch.sin(torch.arange(6 * D * D, dtype=torch.float64) * 0.7).float()
    t0 = time.perf_counter()
    with torch.no_grad():
        W = weights(layers)
        print("# %s: synthetic weights (%d layers) in %.1f s" % (a.label, layers,
              time.perf_counter() - t0), flush=True)
        text = (0.5 * torch.sin(torch.arange(T * CAP, dtype=torch.float64) * 0.11)).float()
        text = text.view(T, CAP)
        for side in a.side:
            lat = side // 8
            N = (lat // P) ** 2
            x = torch.sin(torch.arange(4 * lat * lat, dtype=torch.float64) * 0.3).float()
            x = x.view(1, 4, lat, lat)
            t = torch.tensor([500.0])
            res = torch.tensor([[float(side), float(side)]])
            ar = torch.tensor([[1.0]])
            pos = pos_embed(lat // P, lat // P, 128 // P, 2.0)
            out = forward(W, x, t, text, res, ar, pos)  # warm-up
            ts = []
            for _ in range(a.r):
                s = time.perf_counter()
                out = forward(W, x, t, text, res, ar, pos)
                ts.append(time.perf_counter() - s)
            o = out.flatten()
            print("RESULT %s %d %.1f %.1f" % (a.label, N, min(ts) * 1e3,
                                              statistics.median(ts) * 1e3), flush=True)
            print("CHECK %s %d %.6g %.6g %.6g" % (a.label, N, o.abs().mean().item(), o[0].item(),
                                                 o[1].item()), flush=True)
    print("# %s: torch %s, %d threads, OMP_NUM_THREADS=%s" % (
        a.label, torch.__version__, torch.get_num_threads(),
        os.environ.get("OMP_NUM_THREADS", "unset")), flush=True)


if __name__ == "__main__":
    main()
