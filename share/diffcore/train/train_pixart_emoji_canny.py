#!/usr/bin/env python3
# train_pixart_emoji_canny.py - trains the canny-edge ControlNet-Transformer
# (PixArt-delta style) of the default text-to-image model.
#
# The base model (share/diffcore/models/pixart-emoji) is frozen.  The control
# branch copies its first K = 4 of 8 blocks (weights initialised from them),
# with before_proj (block 0) and after_proj zero-initialised, and runs as
# the official PixArt-alpha ControlPixArtMSHalf.forward:
#   c = x_embedder(control_latents) + pos       (the base's frozen embedder)
#   x = block[0](x); c = copied[0](x + before_proj(c)); x += after_proj[0](c)
#   for i = 1..K-1: x = block[i](x); c = copied[i](c); x += after_proj[i](c)
#   x = block[K..](x); final layer
# Control images are cv2.Canny(rgb, 100, 200) of the training emoji (the
# ControlNet annotator; ctrl-extract canny computes the same), as white on
# black RGB in [-1, 1], VAE-encoded (latent_dist.sample() * scaling_factor)
# as PixArt-delta does.  Random horizontal flips and shifts of up to 8
# pixels apply to picture and edges together, so the branch learns to
# follow edges rather than recall pictures.  Loss, schedule and CFG drop
# (10% empty captions) as the base recipe; AdamW 1e-4, batch 128, bf16.
#
# Saved as OUT/controlnet/ in the diffusers research-port layout
# (config.json: PixArtControlNetAdapterModel, num_layers K;
# controlnet_blocks.{i}.{before_proj,transformer_block.*,after_proj}), bf16.
#
# BRANCH=relactrl trains a RelaCtrl branch instead (official 360CVGroup/RelaCtrl
# pixart_relactrl_v1.py semantics, as dit-gen runs it): RGLC blocks at the
# positions POSITIONS (comma list, ascending; position p feeds base block p+1)
# with GROUPS[k] Two-Dimensional Shuffle Mixer experts each (hidden/GROUPS[k]
# channels, 4 heads):
#   k == 0: c = TDSM(x + before_proj(x_embedder(control) + pos))
#   k  > 0: c = TDSM(c + before_proj(x));   c_skip = after_proj(c)
#   c_skip is added to the input of every later base block until the next
#   RGLC block replaces it (the official forward does not reset it).
# TDSM: adaLN (own scale_shift_table + t0) -> a random channel permutation
# split into the experts -> in each expert a random permutation of the
# token x channel axis, cut into 4 windows of N/4 tokens, multi-head
# attention (timm Attention, qkv bias) -> un-permute -> gated residual.
# Fresh permutations every forward, as the official code draws them, so the
# branch cannot depend on any one permutation.  before/after_proj start at
# zero as in the ControlNet.  Saved as OUT/relactrl/ (config.json:
# c_adding_index, prior2; relactrl.safetensors with the official keys).
# STEPS (default unlimited) stops training at a step count as well.
# Also OUT/samples.png (control, output with control, output without) and
# the edge F1 of outputs against their control, with and without control.
# Inputs: BASE (the pipeline folder), DATA, EDGES (edges64.npz made as above),
# DIT_SECONDS (default 240).  Needs a CUDA GPU, torch, transformers,
# diffusers, numpy; cv2 only for the final F1 (skipped without it).
import copy
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from diffusers import PixArtAlphaPipeline

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emoji_captions import captions  # noqa: E402

BASE = os.environ.get("BASE", "share/diffcore/models/pixart-emoji")
DATA = os.environ.get("DATA", "emoji64.npz")
EDGES = os.environ.get("EDGES", "edges64.npz")
OUT = os.environ.get("OUT", "out_canny")
SECONDS = float(os.environ.get("DIT_SECONDS", "240"))
K = int(os.environ.get("CONTROL_BLOCKS", "4"))
STEPS = int(os.environ.get("STEPS", "0")) or 1 << 60
BRANCH = os.environ.get("BRANCH", "controlnet")
POSITIONS = [int(v) for v in os.environ.get("POSITIONS", "0,3").split(",")]
GROUPS = [int(v) for v in os.environ.get("GROUPS", "2,1").split(",")]
dev = "cuda"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
random.seed(0)
torch.backends.cuda.matmul.allow_tf32 = True

pipe = PixArtAlphaPipeline.from_pretrained(BASE, torch_dtype=torch.float32).to(dev)
dit, t5, vae, tok = pipe.transformer, pipe.text_encoder, pipe.vae, pipe.tokenizer
for m in (dit, t5, vae):
    m.requires_grad_(False).eval()
sf = vae.config.scaling_factor
d = np.load(DATA)
images = torch.from_numpy(d["images"]).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(dev)
edges = torch.from_numpy(np.load(EDGES)["edges"]).float().div(127.5).sub(1).to(dev)[:, None].expand(-1, 3, -1, -1)
names, kws = [str(x) for x in d["names"]], [str(x) for x in d["keywords"]]
N = images.shape[0]
caps = [captions(n, k) for n, k in zip(names, kws)]
flat, by_img = [], []
for c in caps:
    by_img.append(list(range(len(flat), len(flat) + len(c))))
    flat.extend(c)
enc = tok(flat + [""], padding="max_length", max_length=32, truncation=True, return_tensors="pt")
cap_ids, cap_mask = enc.input_ids.to(dev), enc.attention_mask.to(dev)
empty = len(flat)
with torch.no_grad():
    text_all = torch.cat([t5(input_ids=cap_ids[i:i + 1024], attention_mask=cap_mask[i:i + 1024]).last_hidden_state
                          for i in range(0, len(flat) + 1, 1024)])


class ControlBlock(torch.nn.Module):
    def __init__(self, block, index, D):
        super().__init__()
        self.index = index
        self.transformer_block = copy.deepcopy(block)
        if index == 0:
            self.before_proj = torch.nn.Linear(D, D)
            torch.nn.init.zeros_(self.before_proj.weight)
            torch.nn.init.zeros_(self.before_proj.bias)
        self.after_proj = torch.nn.Linear(D, D)
        torch.nn.init.zeros_(self.after_proj.weight)
        torch.nn.init.zeros_(self.after_proj.bias)

    def forward(self, x, c, args):
        if self.index == 0:
            c = self.transformer_block(x + self.before_proj(c), **args)
        else:
            c = self.transformer_block(c, **args)
        return c, self.after_proj(c)


class Expert(torch.nn.Module):
    """TDSM_token: attention over a random token x channel shuffle, 4 windows."""

    def __init__(self, g):
        super().__init__()
        self.qkv = torch.nn.Linear(g, 3 * g)
        self.proj = torch.nn.Linear(g, g)

    def forward(self, h):
        B, N, g = h.shape
        p = torch.randperm(N * g, device=h.device)
        s = h.reshape(B, N * g)[:, p].reshape(B * 4, N // 4, g)
        q, k, v = self.qkv(s).reshape(B * 4, N // 4, 3, 4, g // 4).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B * 4, N // 4, g)
        o = self.proj(o).reshape(B, N * g)
        out = torch.empty_like(o)
        out[:, p] = o
        return out.view(B, N, g)


class TDSM(torch.nn.Module):
    def __init__(self, D, n):
        super().__init__()
        self.D, self.g = D, D // n
        self.scale_shift_table = torch.nn.Parameter(torch.randn(6, D) / D ** 0.5)
        self.experts_attn = torch.nn.ModuleList([torch.nn.Module() for _ in range(n)])
        for e in self.experts_attn:
            e.attn = Expert(self.g)

    def forward(self, c, t0):
        B = c.shape[0]
        shift, scale, gate = (self.scale_shift_table[None] + t0.reshape(B, 6, -1)).chunk(6, 1)[:3]
        h = F.layer_norm(c, c.shape[-1:], eps=1e-6) * (1 + scale) + shift
        perm = torch.randperm(self.D, device=c.device)
        out = torch.empty_like(h)
        for j, e in enumerate(self.experts_attn):
            idx = perm[j * self.g:(j + 1) * self.g]
            out[:, :, idx] = e.attn(h[:, :, idx]).to(out.dtype)
        return c + gate * out


class RGLCBlock(torch.nn.Module):
    def __init__(self, k, D, n):
        super().__init__()
        self.k = k
        self.before_proj = torch.nn.Linear(D, D)
        self.after_proj = torch.nn.Linear(D, D)
        for lin in (self.before_proj, self.after_proj):
            torch.nn.init.zeros_(lin.weight)
            torch.nn.init.zeros_(lin.bias)
        self.process = TDSM(D, n)

    def forward(self, x, c, args):
        t0 = args["timestep"]
        c = self.process(x + self.before_proj(c) if self.k == 0 else c + self.before_proj(x), t0)
        return c, self.after_proj(c)


D = dit.inner_dim
if BRANCH == "relactrl":
    assert POSITIONS == sorted(POSITIONS) and len(POSITIONS) == len(GROUPS)
    ctrl = torch.nn.ModuleList([RGLCBlock(k, D, n) for k, n in enumerate(GROUPS)]).to(dev)
else:
    ctrl = torch.nn.ModuleList([ControlBlock(dit.transformer_blocks[i], i, D) for i in range(K)]).to(dev)
ctrl.requires_grad_(True).train()
print(f"{BRANCH}: {sum(p.numel() for p in ctrl.parameters())} trainable parameters", flush=True)


def forward(x, t, text, mask, c_lat, scale=1.0):
    B, p = x.shape[0], dit.config.patch_size
    gh, gw = x.shape[-2] // p, x.shape[-1] // p
    bias = ((1 - mask.to(x.dtype)) * -10000.0).unsqueeze(1)
    h = dit.pos_embed(x)
    c = dit.pos_embed(c_lat) if c_lat is not None else None
    t6, temb = dit.adaln_single(t, {"resolution": None, "aspect_ratio": None}, batch_size=B,
                                hidden_dtype=h.dtype)
    y = dit.caption_projection(text).view(B, -1, h.shape[-1])
    args = dict(attention_mask=None, encoder_hidden_states=y, encoder_attention_mask=bias, timestep=t6)
    blocks = dit.transformer_blocks
    h = blocks[0](h, **args)
    if BRANCH == "relactrl":
        skip = 0
        for i in range(1, len(blocks)):
            if c is not None and i - 1 in POSITIONS:
                c, skip = ctrl[POSITIONS.index(i - 1)](h, c, args)
            h = blocks[i](h + scale * skip, **args)
    else:
        n = len(ctrl) if c is not None else 0
        for i in range(1, len(blocks)):
            if i <= n:
                c, skip = ctrl[i - 1](h, c, args)
                h = h + scale * skip
            h = blocks[i](h, **args)
    shift, sc = (dit.scale_shift_table[None] + temb[:, None]).chunk(2, dim=1)
    h = dit.proj_out(dit.norm_out(h) * (1 + sc) + shift)
    co = dit.out_channels
    h = h.reshape(B, gh, gw, p, p, co)
    return torch.einsum("nhwpqc->nchpwq", h).reshape(B, co, gh * p, gw * p)


def augment(x, e):
    if random.random() < 0.5:
        x, e = x.flip(-1), e.flip(-1)
    dx, dy = random.randint(-8, 8), random.randint(-8, 8)
    x = torch.roll(x, (dy, dx), (-2, -1))
    e = torch.roll(e, (dy, dx), (-2, -1))
    return x, e


FNAME = "relactrl.safetensors" if BRANCH == "relactrl" else "diffusion_pytorch_model.safetensors"


def branch_state():
    """The branch's tensors under the names of its published layout."""
    if BRANCH == "relactrl":
        return {f"controlnet.{k}.{n}": v for k, blk in enumerate(ctrl) for n, v in blk.state_dict().items()}
    sd = {}
    for i, blk in enumerate(ctrl):
        for k, v in blk.transformer_block.state_dict().items():
            sd[f"controlnet_blocks.{i}.transformer_block.{k}"] = v
        for proj in ("before_proj", "after_proj"):
            if hasattr(blk, proj):
                for s in ("weight", "bias"):
                    sd[f"controlnet_blocks.{i}.{proj}.{s}"] = getattr(getattr(blk, proj), s)
    return sd


if os.environ.get("INIT"):   # resume: INIT = a branch folder saved by this script
    from safetensors.torch import load_file
    init = load_file(os.path.join(os.environ["INIT"], FNAME))
    with torch.no_grad():
        for k, v in branch_state().items():
            v.copy_(init[k].float())
    print("resumed from", os.environ["INIT"], flush=True)
opt = torch.optim.AdamW(ctrl.parameters(), lr=float(os.environ.get("LR", "1e-4")), weight_decay=0.0)
betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
abar = torch.cumprod(1 - betas, 0).float().to(dev)
B = 128
t0, step = time.time(), 0
while time.time() - t0 < SECONDS and step < STEPS:
    idx = torch.randint(0, N, (B,), device=dev)
    x, e = augment(images[idx], edges[idx])
    pick = torch.tensor([random.choice(by_img[i]) for i in idx.tolist()], device=dev)
    pick = torch.where(torch.rand(B, device=dev) < 0.1, torch.full_like(pick, empty), pick)
    with torch.no_grad():
        z = vae.encode(x).latent_dist.sample() * sf
        cl = vae.encode(e).latent_dist.sample() * sf
    t = torch.randint(0, 1000, (B,), device=dev)
    noise = torch.randn_like(z)
    a = abar[t].view(B, 1, 1, 1)
    zt = a.sqrt() * z + (1 - a).sqrt() * noise
    with torch.autocast("cuda", dtype=torch.bfloat16):
        pred = forward(zt, t, text_all[pick], cap_mask[pick], cl)
    loss = F.mse_loss(pred.float(), noise)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(ctrl.parameters(), 1.0)
    opt.step()
    step += 1
    if step % 500 == 0:
        print(f"step {step} loss {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
print(f"{BRANCH}: {step} steps in {time.time() - t0:.0f} s, last loss {loss.item():.4f}", flush=True)

# ---- save (diffusers research-port names, or RelaCtrl's), bf16
ctrl.eval()
cdir = os.path.join(OUT, BRANCH)
os.makedirs(cdir, exist_ok=True)
save_file({k: v.detach().to(torch.bfloat16).contiguous().cpu() for k, v in branch_state().items()},
          os.path.join(cdir, FNAME))
with open(os.path.join(cdir, "config.json"), "w") as f:
    json.dump({"c_adding_index": POSITIONS, "prior2": GROUPS} if BRANCH == "relactrl" else
              {"_class_name": "PixArtControlNetAdapterModel", "num_layers": K}, f, indent=1)

# ---- samples: 8 emoji, DPM-Solver++ 20 steps, cfg 4.5, with and without control
from diffusers import DPMSolverMultistepScheduler  # noqa: E402
rng = random.Random(5)
pool = rng.sample(range(N), 8)


@torch.no_grad()
def sample(ids, use_control, seed=0):
    g = torch.Generator(dev).manual_seed(seed)
    n = len(ids)
    x = torch.randn(n, 4, 16, 16, generator=g, device=dev)
    e = edges[ids]
    cl = vae.encode(e).latent_dist.sample(generator=g) * sf
    cond = torch.stack([text_all[by_img[i][1]] for i in ids])
    cmask = torch.stack([cap_mask[by_img[i][1]] for i in ids])
    unc = text_all[empty][None].expand(n, -1, -1)
    umask = cap_mask[empty][None].expand(n, -1)
    sch = DPMSolverMultistepScheduler.from_pretrained(BASE, subfolder="scheduler")
    sch.set_timesteps(20, device=dev)
    for t in sch.timesteps:
        xin = torch.cat([x, x])
        tt = t.expand(2 * n).to(dev)
        eps = forward(xin, tt, torch.cat([unc, cond]), torch.cat([umask, cmask]),
                      torch.cat([cl, cl]) if use_control else None)
        eu, ec = eps.chunk(2)
        x = sch.step(eu + 4.5 * (ec - eu), t, x).prev_sample
    img = vae.decode(x / sf).sample
    return ((img.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


with_c, without_c = sample(pool, True), sample(pool, False)
ctl = ((edges[pool] + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
grid = np.concatenate([np.concatenate(list(a), 1) for a in (ctl, with_c, without_c)], 0)
from PIL import Image  # noqa: E402
Image.fromarray(grid).save(os.path.join(OUT, "samples.png"))
try:
    import cv2

    def f1(out, ref):
        tp = fp = fn = 0
        for o, r in zip(out, ref):
            oe = cv2.Canny(np.ascontiguousarray(o), 100, 200) > 0
            re_ = r[:, :, 0] > 127
            tp += (oe & re_).sum(); fp += (oe & ~re_).sum(); fn += (~oe & re_).sum()
        return 2 * tp / max(1, 2 * tp + fp + fn)
    print(f"edge F1 vs control (exact pixels): with control {f1(with_c, ctl):.3f}, "
          f"without {f1(without_c, ctl):.3f}", flush=True)
except ImportError:
    pass
print("samples:", [captions(names[i], kws[i])[1] for i in pool], flush=True)
