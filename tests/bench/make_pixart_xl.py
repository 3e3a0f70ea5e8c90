#!/usr/bin/env python3
# make_pixart_xl.py - writes a PixArt-XL-2-1024-MS-shaped transformer folder
# (diffusers key names and config, 611 M parameters) with synthetic weights
# in bf16 (or f32), for the memory benchmark pixart_rss.sh.  numpy only.
# Usage: python3 make_pixart_xl.py DIR [bf16|f32]
import json
import os
import struct
import sys

import numpy as np

out, dt = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "bf16")
D, F, L, S, P, C, T = 1152, 4608, 28, 384, 2, 4, 4096
shapes = {"pos_embed.proj.weight": (D, C, P, P), "pos_embed.proj.bias": (D,)}
for n, (o, i) in {"adaln_single.emb.timestep_embedder.linear_1": (D, 256),
                  "adaln_single.emb.timestep_embedder.linear_2": (D, D),
                  "adaln_single.emb.resolution_embedder.linear_1": (S, 256),
                  "adaln_single.emb.resolution_embedder.linear_2": (S, S),
                  "adaln_single.emb.aspect_ratio_embedder.linear_1": (S, 256),
                  "adaln_single.emb.aspect_ratio_embedder.linear_2": (S, S),
                  "adaln_single.linear": (6 * D, D), "caption_projection.linear_1": (D, T),
                  "caption_projection.linear_2": (D, D), "proj_out": (P * P * 2 * C, D)}.items():
    shapes[n + ".weight"], shapes[n + ".bias"] = (o, i), (o,)
shapes["scale_shift_table"] = (2, D)
for b in range(L):
    p = "transformer_blocks.%d." % b
    shapes[p + "scale_shift_table"] = (6, D)
    for a in ("attn1", "attn2"):
        for n in ("to_q", "to_k", "to_v", "to_out.0"):
            shapes[p + a + "." + n + ".weight"], shapes[p + a + "." + n + ".bias"] = (D, D), (D,)
    shapes[p + "ff.net.0.proj.weight"], shapes[p + "ff.net.0.proj.bias"] = (F, D), (F,)
    shapes[p + "ff.net.2.weight"], shapes[p + "ff.net.2.bias"] = (D, F), (D,)
isz = 2 if dt == "bf16" else 4
hdr, off = {}, 0
for k, s in shapes.items():
    n = int(np.prod(s)) * isz
    hdr[k] = {"dtype": "BF16" if dt == "bf16" else "F32", "shape": list(s), "data_offsets": [off, off + n]}
    off += n
h = json.dumps(hdr).encode()
h += b" " * (-(8 + len(h)) % 8)
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)
with open(os.path.join(out, "diffusion_pytorch_model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for k, s in shapes.items():
        fan = s[1] * (s[2] * s[3] if len(s) == 4 else 1) if len(s) >= 2 else 0
        a = (rng.standard_normal(s, dtype=np.float32) * (fan ** -0.5 if fan else 0.02)).astype(np.float32)
        if dt == "bf16":
            u = a.view(np.uint32)
            a = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
        f.write(a.tobytes())
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump({"_class_name": "PixArtTransformer2DModel", "activation_fn": "gelu-approximate",
               "attention_bias": True, "attention_head_dim": 72, "caption_channels": T,
               "cross_attention_dim": D, "in_channels": C, "interpolation_scale": None,
               "norm_elementwise_affine": False, "norm_eps": 1e-6, "norm_type": "ada_norm_single",
               "num_attention_heads": 16, "num_embeds_ada_norm": 1000, "num_layers": L,
               "out_channels": 2 * C, "patch_size": P, "sample_size": 128,
               "use_additional_conditions": None}, f, indent=1)
print(out, dt, off / 1e6, "MB of weights", file=sys.stderr)
