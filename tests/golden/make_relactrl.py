#!/usr/bin/env python3
# make_relactrl.py - golden tensors for tests/unit/test_relactrl.c: a faithful
# torch transcription of RelaCtrl's control branch (official 360CVGroup/RelaCtrl
# diffusion/model/nets/pixart_relactrl_v1.py, as summarised in
# shared/research/dit.md sec. 3.4-3.5: RGLC_Block, TDSM, TDSM_token with a
# timm-style WindowAttention, ControlPixArtMSHalf_RelaCtrl.forward) on the tiny
# PixArt model tests/golden/pixart/b (3 layers, hidden 24, micro-conditions).
# diffusers is not needed: the base PixArtTransformer2DModel forward is
# transcribed here too and checked against b.out of tests/golden/pixart/io.
#
# Tiny RelaCtrl configs (hidden 24, experts with 4 heads): group sizes follow
# distribute_dim_4_TDSM_token's rule scaled down (equal groups, each a
# multiple of the 4 heads instead of 8*4 = 32): n=2 -> 2 x 12 (head_dim 3),
# n=3 -> 3 x 8 (head_dim 2).
#   two/  c_adding_index [0, 1], prior2 [2, 3]  (k == 0 and k > 0 paths)
#   one/  c_adding_index [0],    prior2 [3]     (c_skip of position 0 is
#         re-added before base blocks 1 AND 2: the "not reset" behaviour)
# Each folder: config.json + relactrl.safetensors (official key names,
# controlnet.{k}.{before_proj,after_proj}.*, controlnet.{k}.process.
# scale_shift_table, controlnet.{k}.process.experts_attn.{j}.attn.{qkv,proj}.*).
# io.safetensors (float32):
#   two.perm.{k}, one.perm.0   [D + N*D] the permutations the reference drew
#       (torch.randperm, as the official code at inference): the channel
#       permutation [D], then each expert's token x channel shuffle [N*g_j]
#       in expert order (values exact in f32)
#   two.out [2,8,12,12] (scale 1.0), one.out (scale 0.6)   model b with the branch
#   base.out  the base transcription (equals pixart b.out)
# Inputs are pixart/io's b.* and c.control.  Weights random (std 1/sqrt(fan_in),
# biases 0.1, scale_shift_table 0.3; the official before/after zero-init would
# make the branch a no-op), stored f32; the reference runs in float64.
# Also writes tests/golden/dit/relactrl/ (config.json, relactrl.safetensors):
# a one-block branch (position 0, 2 x 8 groups) for the tiny pipeline
# tests/golden/pipe/model (hidden 16), used by tests/cli/dit-gen.bats.
# Run: /usr/bin/python3 tests/golden/make_relactrl.py   (torch + numpy only)
import json
import math
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("OUT") or os.path.join(HERE, "relactrl")
torch.manual_seed(20267)
F64 = torch.float64


def st_load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    dt = {"F32": np.float32, "F64": np.float64}
    o = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        a = np.frombuffer(b[8 + n + s:8 + n + e], dtype=dt[v["dtype"]]).reshape(v["shape"])
        o[k] = torch.from_numpy(a.copy())
    return o


def st_save(p, d):
    hdr, off, blobs = {}, 0, []
    for k in sorted(d):
        a = d[k].detach().float().contiguous().numpy().astype("<f4").tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(d[k].shape), "data_offsets": [off, off + len(a)]}
        off += len(a)
        blobs.append(a)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(p, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---- base PixArt (diffusers PixArtTransformer2DModel, ada_norm_single) ----

def lin(x, w, pre):
    return x @ w[pre + ".weight"].T + w[pre + ".bias"]


def gelu_tanh(x):
    return torch.nn.functional.gelu(x, approximate="tanh")


def ln(x):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], eps=1e-6)


def tsin(t):   # get_timestep_embedding(256, flip_sin_to_cos=True, shift 0)
    ex = -math.log(10000) * torch.arange(128, dtype=torch.float32) / 128
    e = t.float()[:, None] * torch.exp(ex)[None]
    return torch.cat([torch.cos(e), torch.sin(e)], -1).to(F64)


def sincos_2d(D, gh, gw, base, interp):
    gy = torch.arange(gh, dtype=F64) / (gh / base) / interp
    gx = torch.arange(gw, dtype=F64) / (gw / base) / interp
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    om = 1.0 / 10000 ** (torch.arange(D // 4, dtype=F64) / (D / 4.0))

    def one(pos):
        o = pos.reshape(-1)[:, None] * om[None]
        return torch.cat([torch.sin(o), torch.cos(o)], 1)
    return torch.cat([one(xx), one(yy)], 1)


def attn(q, k, v, heads, bias=None):
    B, N, C = q.shape
    d = C // heads
    q = q.view(B, N, heads, d).transpose(1, 2)
    k = k.view(B, -1, heads, d).transpose(1, 2)
    v = v.view(B, -1, heads, d).transpose(1, 2)
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    if bias is not None:
        s = s + bias[:, None, None, :]
    return (s.softmax(-1) @ v).transpose(1, 2).reshape(B, N, C)


class Base:
    def __init__(self, w, cfg):
        self.w = {k: v.to(F64) for k, v in w.items()}
        self.cfg = cfg
        self.D = cfg["num_attention_heads"] * cfg["attention_head_dim"]

    def embed(self, lat):
        w, p = self.w, self.cfg["patch_size"]
        B, C, H, W = lat.shape
        x = torch.nn.functional.conv2d(lat.to(F64), w["pos_embed.proj.weight"],
                                       w["pos_embed.proj.bias"], stride=p)
        x = x.flatten(2).transpose(1, 2)
        return x + sincos_2d(self.D, H // p, W // p, self.cfg["sample_size"] // p,
                             self.cfg["interpolation_scale"])[None]

    def block(self, i, x, y, bias, t6):
        w, pre, B = self.w, "transformer_blocks.%d." % i, x.shape[0]
        heads = self.cfg["num_attention_heads"]
        m = (w[pre + "scale_shift_table"][None] + t6.reshape(B, 6, -1)).chunk(6, 1)
        h = ln(x) * (1 + m[1]) + m[0]
        a = attn(lin(h, w, pre + "attn1.to_q"), lin(h, w, pre + "attn1.to_k"),
                 lin(h, w, pre + "attn1.to_v"), heads)
        x = x + m[2] * lin(a, w, pre + "attn1.to_out.0")
        a = attn(lin(x, w, pre + "attn2.to_q"), lin(y, w, pre + "attn2.to_k"),
                 lin(y, w, pre + "attn2.to_v"), heads, bias)
        x = x + lin(a, w, pre + "attn2.to_out.0")
        h = ln(x) * (1 + m[4]) + m[3]
        h = lin(gelu_tanh(lin(h, w, pre + "ff.net.0.proj")), w, pre + "ff.net.2")
        return x + m[5] * h

    def cond(self, t, text, mask, res, ar):
        w, B = self.w, text.shape[0]
        mlp = lambda s, pre: lin(torch.nn.functional.silu(lin(s, w, pre + ".linear_1")), w,
                                 pre + ".linear_2")
        temb = mlp(tsin(t.expand(B)), "adaln_single.emb.timestep_embedder")
        r = mlp(tsin(res.reshape(-1)), "adaln_single.emb.resolution_embedder").reshape(B, -1)
        a = mlp(tsin(ar.reshape(-1)), "adaln_single.emb.aspect_ratio_embedder").reshape(B, -1)
        temb = temb + torch.cat([r, a], 1)
        t6 = lin(torch.nn.functional.silu(temb), w, "adaln_single.linear")
        y = lin(gelu_tanh(lin(text.to(F64), w, "caption_projection.linear_1")), w,
                "caption_projection.linear_2")
        bias = (1 - mask.to(F64)) * -10000.0
        return temb, t6, y, bias

    def final(self, x, temb, H, W):
        w, p, B = self.w, self.cfg["patch_size"], x.shape[0]
        sh, sc = (w["scale_shift_table"][None] + temb[:, None]).chunk(2, 1)
        x = lin(ln(x) * (1 + sc) + sh, w, "proj_out")
        co = self.cfg["out_channels"]
        x = x.reshape(B, H // p, W // p, p, p, co)
        return torch.einsum("nhwpqc->nchpwq", x).reshape(B, co, H, W)


# ---- RelaCtrl (official semantics; randperm replaced by recorded draws) ----

class TDSM_token:
    """One expert: WindowAttention(g, num_heads=4, qkv_bias=True) over a random
    shuffle of the flattened token x channel axis, split into 4 segments."""

    def __init__(self, g):
        self.g = g
        self.qkv_w = torch.randn(3 * g, g) / g ** 0.5
        self.qkv_b = torch.randn(3 * g) * 0.1
        self.proj_w = torch.randn(g, g) / g ** 0.5
        self.proj_b = torch.randn(g) * 0.1

    def window_attention(self, x):      # timm Attention
        B, N, C = x.shape
        qkv = (x @ self.qkv_w.to(F64).T + self.qkv_b.to(F64)).reshape(B, N, 3, 4, C // 4)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1)) * (C // 4) ** -0.5
        x = (a.softmax(-1) @ v).transpose(1, 2).reshape(B, N, C)
        return x @ self.proj_w.to(F64).T + self.proj_b.to(F64)

    def __call__(self, h, draws):
        B, L, g = h.shape
        v = h.reshape(B, L * g)
        p = torch.randperm(L * g)
        draws.append(p)
        s = v[:, p]
        segs = s.chunk(4, 1)
        o = torch.cat([self.window_attention(t.reshape(B, L // 4, g)).reshape(B, -1)
                       for t in segs], 1)
        out = torch.empty_like(o)
        out[:, p] = o
        return out.view(B, L, g)


class TDSM:
    def __init__(self, D, sizes):
        self.D, self.sizes = D, sizes
        self.sst = torch.randn(6, D) * 0.3
        self.experts = [TDSM_token(g) for g in sizes]

    def __call__(self, c, t0, draws):
        B = c.shape[0]
        shift, scale, gate, _, _, _ = (self.sst.to(F64)[None] + t0.reshape(B, 6, -1)).chunk(6, 1)
        h = ln(c) * (1 + scale) + shift
        perm = torch.randperm(self.D)
        draws.append(perm)
        out = torch.empty_like(h)
        o = 0
        for e, g in zip(self.experts, self.sizes):
            idx = perm[o:o + g]
            out[:, :, idx] = e(h[:, :, idx], draws)
            o += g
        return c + gate * out


class RGLC_Block:
    def __init__(self, D, k, sizes):
        self.k = k
        self.before_w, self.before_b = torch.randn(D, D) / D ** 0.5, torch.randn(D) * 0.1
        self.after_w, self.after_b = torch.randn(D, D) / D ** 0.5, torch.randn(D) * 0.1
        self.process = TDSM(D, sizes)

    def __call__(self, x, c, t0, draws):
        bp = lambda z: z @ self.before_w.to(F64).T + self.before_b.to(F64)
        if self.k == 0:
            c = self.process(x + bp(c), t0, draws)
        else:
            c = self.process(c + bp(x), t0, draws)
        return c, c @ self.after_w.to(F64).T + self.after_b.to(F64)

    def state(self, pre):
        d = {pre + "before_proj.weight": self.before_w, pre + "before_proj.bias": self.before_b,
             pre + "after_proj.weight": self.after_w, pre + "after_proj.bias": self.after_b,
             pre + "process.scale_shift_table": self.process.sst}
        for j, e in enumerate(self.process.experts):
            q = pre + "process.experts_attn.%d.attn." % j
            d.update({q + "qkv.weight": e.qkv_w, q + "qkv.bias": e.qkv_b,
                      q + "proj.weight": e.proj_w, q + "proj.bias": e.proj_b})
        return d


def forward(base, ctrl, index, lat, clat, t, text, mask, res, ar, scale, draws):
    """ControlPixArtMSHalf_RelaCtrl.forward; scale multiplies c_skip (1 = official)."""
    temb, t6, y, bias = base.cond(t, text, mask, res, ar)
    x = base.embed(lat)
    c = base.embed(clat) if ctrl else None
    L = len(base.cfg_layers)
    x = base.block(0, x, y, bias, t6)
    c_skip = 0
    for i in range(1, L):
        if i - 1 in index:
            c, c_skip = ctrl[index.index(i - 1)](x, c, t6, draws)
        x = base.block(i, x + scale * c_skip, y, bias, t6)
    return base.final(x, temb, lat.shape[-2], lat.shape[-1])


def main():
    os.makedirs(OUT, exist_ok=True)
    pb = os.path.join(HERE, "pixart", "b")
    cfg = json.load(open(os.path.join(pb, "config.json")))
    base = Base(st_load(os.path.join(pb, "diffusion_pytorch_model.safetensors")), cfg)
    base.cfg_layers = range(cfg["num_layers"])
    io_in = st_load(os.path.join(HERE, "pixart", "io.safetensors"))
    args = [io_in["b.latents"], io_in["c.control"], io_in["b.timestep"], io_in["b.text"],
            io_in["b.mask"], io_in["b.resolution"].to(F64), io_in["b.aspect"].to(F64)]
    D = base.D
    io = {}
    with torch.no_grad():
        ref = forward(base, [], [], *args, 1.0, [])
        err = (ref.float() - io_in["b.out"]).abs().max().item()
        print("base transcription vs diffusers b.out: max abs %.3g (rms %.3g)" %
              (err, io_in["b.out"].pow(2).mean().sqrt().item()))
        assert err < 1e-5
        io["base.out"] = ref
        for name, index, groups, scale in (("two", [0, 1], [2, 3], 1.0), ("one", [0], [3], 0.6)):
            ctrl = [RGLC_Block(D, k, [D // n] * n) for k, n in enumerate(groups)]
            for blk in ctrl:   # weights are stored f32: use exactly those
                pass
            draws = []
            out = forward(base, ctrl, index, *args, scale, draws)
            # the draws, grouped per block: channel perm then experts in order
            per = []
            pos = 0
            for blk in ctrl:
                n = 1 + len(blk.process.experts)
                per.append(torch.cat([d.to(torch.float32) for d in draws[pos:pos + n]]))
                pos += n
            for k, v in enumerate(per):
                io["%s.perm.%d" % (name, k)] = v
            io["%s.out" % name] = out
            io["%s.scale" % name] = torch.tensor([scale])
            print("%s: out rms %.4g, max |out - base| %.4g" %
                  (name, out.pow(2).mean().sqrt().item(), (out - ref).abs().max().item()))
            d = os.path.join(OUT, name)
            os.makedirs(d, exist_ok=True)
            sd = {}
            for k, blk in enumerate(ctrl):
                sd.update(blk.state("controlnet.%d." % k))
            st_save(os.path.join(d, "relactrl.safetensors"), sd)
            json.dump({"c_adding_index": index, "prior2": groups},
                      open(os.path.join(d, "config.json"), "w"))
    st_save(os.path.join(OUT, "io.safetensors"), io)
    # the dit-gen fixture: one block at position 0 (groups 2 x 8) for the tiny
    # pipeline tests/golden/pipe/model (hidden 16, 2 layers)
    pc = json.load(open(os.path.join(HERE, "pipe", "model", "transformer", "config.json")))
    Dp = pc["num_attention_heads"] * pc["attention_head_dim"]
    d = os.path.join(HERE, "dit", "relactrl")
    os.makedirs(d, exist_ok=True)
    st_save(os.path.join(d, "relactrl.safetensors"),
            RGLC_Block(Dp, 0, [Dp // 2] * 2).state("controlnet.0."))
    json.dump({"c_adding_index": [0], "prior2": [2]}, open(os.path.join(d, "config.json"), "w"))
    print(json.dumps(sorted(os.listdir(OUT))))


if __name__ == "__main__":
    main()
