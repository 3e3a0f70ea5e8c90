#!/usr/bin/env python3
# train_pixart_emoji.py - trains diffcore's default text-to-image model: a
# small PixArt-alpha (diffusers PixArtTransformer2DModel, adaLN-single,
# cross-attention on T5 features) with a T5 v1.1-architecture text encoder
# trained jointly from scratch, over a small AutoencoderKL trained first, on
# the 1870 emoji of emoji_data.py captioned by emoji_captions.py.  Saved as
# a diffusers PixArtAlphaPipeline folder (the layout real PixArt checkpoints
# are published in), transformer and text encoder in bf16.
#
#   VAE        AutoencoderKL, 3 levels [64,128,128], 1 resnet per level,
#              4 latent channels, 64x64 RGB -> 4x16x16; L1 + 1e-6 KL;
#              scaling_factor = 1/std of the training latents
#   text       T5EncoderModel, d_model 256, 4 layers, 8 heads x 32,
#              d_ff 640 gated-gelu, vocab 1100 (emoji_tokenizer.py's 1000
#              pieces + 100 extra ids)
#   DiT        PixArtTransformer2DModel, 8 layers, 4 heads x 64 (hidden 256),
#              patch 2 (64 tokens), caption_channels 256, eps prediction
#              (out_channels 4, no learned sigma), no micro-conditions
#   diffusion  PixArt's DDPM schedule (linear betas 1e-4..0.02, 1000 steps),
#              10% empty captions for classifier-free guidance, AdamW
#              3e-4, batch 256, bf16 autocast, EMA 0.999
#   sampler    DPMSolverMultistepScheduler with PixArt-alpha's config
#
# Inputs: DATA (emoji_data.py's npz), TOK (emoji_tokenizer.py's folder).
# Output: OUT/model/ (pipeline folder), OUT/samples.png (a grid from the
# trained pipeline: trained and held-out phrasings), OUT/log.txt.
# Wall-clock budgets per stage: VAE_SECONDS (default 150), DIT_SECONDS (360).
# INIT=dir resumes from a pipeline folder this script saved (the VAE is kept,
# the text encoder and DiT train on with the learning rate decaying to 0
# over DIT_SECONDS); the shipped model is a first run of 110 s + 385 s
# followed by one resumed run of 480 s, on one H200.
# Needs a CUDA GPU, torch >= 2, transformers, diffusers.
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from transformers import T5Config, T5EncoderModel, T5Tokenizer
from diffusers import (AutoencoderKL, DPMSolverMultistepScheduler, PixArtAlphaPipeline,
                       PixArtTransformer2DModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emoji_captions import captions, held_out  # noqa: E402

DATA = os.environ.get("DATA", "emoji64.npz")
TOK = os.environ.get("TOK", "tokenizer")
OUT = os.environ.get("OUT", "out")
VAE_SECONDS = float(os.environ.get("VAE_SECONDS", "150"))
DIT_SECONDS = float(os.environ.get("DIT_SECONDS", "360"))
dev = "cuda"
os.makedirs(OUT, exist_ok=True)
logf = open(os.path.join(OUT, "log.txt"), "w")


def log(*a):
    s = " ".join(str(x) for x in a)
    print(s, flush=True)
    logf.write(s + "\n")
    logf.flush()


torch.manual_seed(0)
random.seed(0)
np.random.seed(0)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
d = np.load(DATA)
images = torch.from_numpy(d["images"]).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(dev)
names = [str(x) for x in d["names"]]
kws = [str(x) for x in d["keywords"]]
N = images.shape[0]
log("images", tuple(images.shape))

INIT = os.environ.get("INIT")
# ---- stage 1: the autoencoder
vae = AutoencoderKL.from_pretrained(os.path.join(INIT, "vae")).float().to(dev) if INIT else AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 3,
                    up_block_types=["UpDecoderBlock2D"] * 3, block_out_channels=[64, 128, 128],
                    layers_per_block=1, act_fn="silu", latent_channels=4, norm_num_groups=32,
                    sample_size=64).to(dev)
opt = torch.optim.AdamW(vae.parameters(), lr=4e-4, weight_decay=0.0)
t0, step = time.time(), 0
while not INIT and time.time() - t0 < VAE_SECONDS:
    x = images[torch.randint(0, N, (64,), device=dev)]
    with torch.autocast("cuda", dtype=torch.bfloat16):
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.sample()).sample
    rec = rec.float()
    kl = post.kl().mean() / (3 * 64 * 64)
    loss = F.l1_loss(rec, x) + 0.5 * F.mse_loss(rec, x) + 1e-6 * kl
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    step += 1
    if step % 500 == 0:
        log(f"vae step {step} loss {loss.item():.4f} l1 {F.l1_loss(rec, x).item():.4f}")
vae.eval()
with torch.no_grad():
    means, stds = [], []
    for i in range(0, N, 256):
        p = vae.encode(images[i:i + 256]).latent_dist
        means.append(p.mean)
        stds.append(p.std)
    lat_mean, lat_std = torch.cat(means), torch.cat(stds)
    sf = vae.config.scaling_factor if INIT else float(1.0 / lat_mean.std())
    rec = vae.decode(lat_mean[:256]).sample
    psnr = 10 * math.log10(4.0 / F.mse_loss(rec, images[:256]).item())
vae.register_to_config(scaling_factor=sf)
log(f"vae: {step} steps, scaling_factor {sf:.5f}, reconstruction PSNR {psnr:.2f} dB")

# ---- stage 2: text encoder + DiT
tok = T5Tokenizer.from_pretrained(TOK)
caps = [captions(n, k) for n, k in zip(names, kws)]
flat, owner = [], []
for i, c in enumerate(caps):
    for s in c:
        flat.append(s)
        owner.append(i)
L = 32
enc = tok(flat + [""], padding="max_length", max_length=L, truncation=True, return_tensors="pt")
cap_ids, cap_mask = enc.input_ids.to(dev), enc.attention_mask.to(dev)
empty = len(flat)
owner = torch.tensor(owner, device=dev)
by_img = [[] for _ in range(N)]
for j, i in enumerate(owner.tolist()):
    by_img[i].append(j)
log("captions", len(flat), "tokenizer size", len(tok))

t5 = T5EncoderModel.from_pretrained(os.path.join(INIT, "text_encoder")).float().to(dev) if INIT else T5EncoderModel(T5Config(vocab_size=1100, d_model=256, d_kv=32, num_heads=8, d_ff=640,
                             num_layers=4, feed_forward_proj="gated-gelu", dropout_rate=0.0,
                             relative_attention_num_buckets=32, relative_attention_max_distance=128,
                             layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1,
                             decoder_start_token_id=0, tie_word_embeddings=False)).to(dev)
dit = PixArtTransformer2DModel.from_pretrained(os.path.join(INIT, "transformer")).float().to(dev) if INIT else PixArtTransformer2DModel(num_attention_heads=4, attention_head_dim=64, in_channels=4,
                               out_channels=4, num_layers=8, patch_size=2, sample_size=16,
                               caption_channels=256, cross_attention_dim=256,
                               norm_type="ada_norm_single", use_additional_conditions=False).to(dev)
log("params: t5", sum(p.numel() for p in t5.parameters()), "dit", sum(p.numel() for p in dit.parameters()),
    "vae", sum(p.numel() for p in vae.parameters()))
params = list(t5.parameters()) + list(dit.parameters())
opt = torch.optim.AdamW(params, lr=3e-4, betas=(0.9, 0.99), weight_decay=0.01)
ema_t5 = [p.detach().clone() for p in t5.parameters()]
ema_dit = [p.detach().clone() for p in dit.parameters()]
betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
abar = torch.cumprod(1 - betas, 0).float().to(dev)
B = 256
t0, step = time.time(), 0
while time.time() - t0 < DIT_SECONDS:
    idx = torch.randint(0, N, (B,), device=dev)
    pick = torch.tensor([random.choice(by_img[i]) for i in idx.tolist()], device=dev)
    pick = torch.where(torch.rand(B, device=dev) < 0.1, torch.full_like(pick, empty), pick)
    z = (lat_mean[idx] + lat_std[idx] * torch.randn_like(lat_mean[idx])) * sf
    t = torch.randint(0, 1000, (B,), device=dev)
    noise = torch.randn_like(z)
    a = abar[t].view(B, 1, 1, 1)
    zt = a.sqrt() * z + (1 - a).sqrt() * noise
    if INIT:
        lr = 2e-4 * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * min(1.0, (time.time() - t0) / DIT_SECONDS)))
    else:
        lr = 3e-4 * min(1.0, (step + 1) / 500)
    for g in opt.param_groups:
        g["lr"] = lr
    with torch.autocast("cuda", dtype=torch.bfloat16):
        h = t5(input_ids=cap_ids[pick], attention_mask=cap_mask[pick]).last_hidden_state
        pred = dit(zt, encoder_hidden_states=h, encoder_attention_mask=cap_mask[pick], timestep=t,
                   added_cond_kwargs={"resolution": None, "aspect_ratio": None}).sample
    loss = F.mse_loss(pred.float(), noise)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    with torch.no_grad():
        dec = 0.999 if INIT else min(0.999, (1 + step) / (10 + step))
        for e, p in zip(ema_t5, t5.parameters()):
            e.lerp_(p.detach(), 1 - dec)
        for e, p in zip(ema_dit, dit.parameters()):
            e.lerp_(p.detach(), 1 - dec)
    step += 1
    if step % 1000 == 0:
        log(f"dit step {step} loss {loss.item():.4f} ({time.time() - t0:.0f} s)")
log(f"dit: {step} steps in {time.time() - t0:.0f} s, last loss {loss.item():.4f}")
with torch.no_grad():
    for e, p in zip(ema_t5, t5.parameters()):
        p.copy_(e)
    for e, p in zip(ema_dit, dit.parameters()):
        p.copy_(e)

# ---- save as a diffusers pipeline folder
sched = DPMSolverMultistepScheduler(beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                                    num_train_timesteps=1000, prediction_type="epsilon",
                                    solver_order=2, algorithm_type="dpmsolver++",
                                    lower_order_final=True, timestep_spacing="linspace")
t5.eval(), dit.eval()
pipe = PixArtAlphaPipeline(tokenizer=tok, text_encoder=t5.to(torch.bfloat16),
                           transformer=dit.to(torch.bfloat16), vae=vae.to(torch.bfloat16),
                           scheduler=sched)
mdir = os.path.join(OUT, "model")
pipe.save_pretrained(mdir, safe_serialization=True)
for f in ("spiece.model",):
    src = os.path.join(TOK, f)
    if not os.path.exists(os.path.join(mdir, "tokenizer", f)):
        import shutil
        shutil.copy(src, os.path.join(mdir, "tokenizer", f))
tj = os.path.join(mdir, "tokenizer", "tokenizer.json")
if os.path.exists(tj):
    os.remove(tj)  # spiece.model is the published form; tokenizer.json is derived

# ---- samples: trained phrasings, then held-out ones
pipe.to(dev, torch.float32)
rng = random.Random(3)
pool = rng.sample(range(N), 12)
prompts = ["a red apple", "a drawing of a red apple", "grinning face", "flag of japan",
           "a cat", "pizza", "rocket", "a red heart"]
prompts += [captions(names[i], kws[i])[1] for i in pool[:6]] + [held_out(names[i])[0] for i in pool[6:]]
g = torch.Generator(dev).manual_seed(0)
with torch.no_grad():
    out = pipe(prompts, negative_prompt="", num_inference_steps=20, guidance_scale=4.5, height=64,
               width=64, use_resolution_binning=False, clean_caption=False, generator=g,
               output_type="np").images
grid = (np.concatenate([np.concatenate(list(out[r * 4:(r + 1) * 4]), 1) for r in range(len(out) // 4)], 0)
        * 255).round().astype(np.uint8)
from PIL import Image  # noqa: E402
Image.fromarray(grid).save(os.path.join(OUT, "samples.png"))
with open(os.path.join(OUT, "samples.txt"), "w") as f:
    f.write("\n".join(prompts) + "\n")
log("samples:", prompts)
