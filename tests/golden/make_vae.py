#!/usr/bin/env python3
# make_vae.py - golden tensors for tests/unit/test_vae.c, made by running
# diffusers' own AutoencoderKL (models/autoencoders/autoencoder_kl.py) on the
# CPU in float64.  Nothing of diffusers is copied here: it is imported from
# the checkout on PYTHONPATH (made with diffusers 58eb52c0).
#
# Run (on a machine with torch >= 2 and diffusers importable):
#   OUT=/some/dir python3 tests/golden/make_vae.py
# then copy $OUT/* into tests/golden/vae/.
#
# Tiny config: block_out_channels (8, 16, 16), layers_per_block 1,
# norm_num_groups 4, latent_channels 4, sample_size 32 (so diffusers' tiles
# are 8 latents / 32 pixels, overlap 0.25), in/out channels 3; every
# parameter random (GroupNorm affine included).  Weights are rounded to f32
# and the model then runs in float64, so the C code (f32) sees exactly the
# same weights and the reference carries no f32 rounding of its own.
#
# Files ($OUT):
#   config.json, diffusion_pytorch_model.safetensors   the model folder (F32)
#   vae_io.safetensors                                 F32 tensors:
#     dec_z   [2][4][6][5]     latents (not scaled)   dec_img  [2][3][24][20]  vae.decode
#     enc_x   [2][3][24][20]   image in [-1,1]        enc_mean, enc_logvar [2][4][6][5]
#     tile_z  [1][4][20][14]                          tile_img [1][3][80][56]  tiled_decode
import json
import os

import torch
from safetensors.torch import save_file
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL

OUT = os.environ.get("OUT", "out_vae")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)

cfg = dict(in_channels=3, out_channels=3,
           down_block_types=["DownEncoderBlock2D"] * 3,
           up_block_types=["UpDecoderBlock2D"] * 3,
           block_out_channels=[8, 16, 16], layers_per_block=1, act_fn="silu",
           latent_channels=4, norm_num_groups=4, sample_size=32,
           scaling_factor=0.18215)
vae = AutoencoderKL(**cfg).eval()
with torch.no_grad():
    for name, p in vae.named_parameters():
        if "norm" in name and name.endswith("weight"):
            p.copy_(1.0 + 0.2 * torch.randn_like(p))
        elif name.endswith("bias"):
            p.copy_(0.1 * torch.randn_like(p))
        else:
            fan_in = p[0].numel()
            p.copy_(torch.randn_like(p) * (1.5 / fan_in) ** 0.5)
vae.save_pretrained(OUT, safe_serialization=True)
vae = vae.double()

def f32(t):
    return t.float().double()

io = {}
with torch.no_grad():
    z = f32(torch.randn(2, 4, 6, 5))
    io["dec_z"] = z
    io["dec_img"] = vae.decode(z).sample
    x = f32(torch.rand(2, 3, 24, 20) * 2 - 1)
    io["enc_x"] = x
    post = vae.encode(x).latent_dist
    io["enc_mean"] = post.mean
    io["enc_logvar"] = post.logvar
    zt = f32(torch.randn(1, 4, 20, 14))
    io["tile_z"] = zt
    assert vae.tile_latent_min_size == 8 and vae.tile_sample_min_size == 32
    vae.enable_tiling()
    io["tile_img"] = vae.decode(zt).sample
    vae.disable_tiling()
    full = vae.decode(zt).sample
    print("tiled vs untiled max abs diff", (io["tile_img"] - full).abs().max().item())
    assert io["tile_img"].shape == (1, 3, 80, 56)
save_file({k: v.float().contiguous() for k, v in io.items()}, os.path.join(OUT, "vae_io.safetensors"))
for k, v in io.items():
    print(k, tuple(v.shape), float(v.abs().max()))
print(json.dumps(sorted(os.listdir(OUT))))
