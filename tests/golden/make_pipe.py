#!/usr/bin/env python3
# make_pipe.py - an end-to-end golden for dit-gen: diffusers'
# PixArtAlphaPipeline built from tiny random-weight components, saved with
# save_pretrained (the layout PixArt checkpoints are published in), then
# run text -> latents -> image.
#
# Components: tokenizer = T5Tokenizer over t5/spiece.model (+100 extra ids,
# model_max_length 120); text_encoder = t5/enc (make_t5.py, d_model 32);
# transformer = PixArtTransformer2DModel (2 layers, 2 heads x 8,
# caption_channels 32, sample_size 8, patch 2, learned sigma, no
# micro-conditions), random weights as make_pixart.py draws them;
# vae = vae/ (make_vae.py: 3 levels, scale factor 4); scheduler =
# DPMSolverMultistepScheduler with PixArt-alpha's published config.
#
# Writes, under $OUT (default tests/golden/pipe):
#   model/   model_index.json, tokenizer/, text_encoder/, transformer/,
#            vae/, scheduler/   (spiece.model copied into tokenizer/ when
#            the installed transformers saves only tokenizer.json)
#   pipe_io.safetensors (F32 unless noted):
#     ids [2,120] I64, mask [2,120] I64       the prompts' tokens as encoded
#     neg_ids [1,120] I64, neg_mask [1,120] I64   the "" negative prompt
#     embeds [2,120,32], neg_embeds [1,120,32]   encode_prompt's outputs
#     latents_in [2,4,8,8]   the initial noise handed to the pipeline
#     latents_out [2,4,8,8]  output_type="latent", 4 steps, cfg 4.5
#     image [2,3,32,32]      output_type="pt" (in [0,1]) from the same run
#   pipe.json   {"prompts": [...], "negative_prompt": "", "steps": 4,
#                "guidance_scale": 4.5, "height": 32, "width": 32}
# The pipeline runs in float64 (weights stored as float32).
# Run (diffusers importable; after make_t5.py and make_vae.py):
#   OUT=dir python3 make_pipe.py
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import T5EncoderModel, T5Tokenizer
from diffusers import (AutoencoderKL, DPMSolverMultistepScheduler, PixArtAlphaPipeline,
                       PixArtTransformer2DModel)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("OUT") or os.path.join(HERE, "pipe")
T5DIR = os.environ.get("T5DIR") or os.path.join(HERE, "t5")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(77)

PIXART_DPM = {
    "algorithm_type": "dpmsolver++", "beta_end": 0.02, "beta_schedule": "linear",
    "beta_start": 0.0001, "dynamic_thresholding_ratio": 0.995, "lower_order_final": True,
    "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0,
    "solver_order": 2, "solver_type": "midpoint", "steps_offset": 0, "thresholding": False,
    "timestep_spacing": "linspace", "trained_betas": None, "use_karras_sigmas": False,
    "variance_type": None,
}

tokdir = os.path.join(OUT, "tok.tmp")
os.makedirs(tokdir, exist_ok=True)
shutil.copy(os.path.join(T5DIR, "spiece.model"), tokdir)
with open(os.path.join(tokdir, "tokenizer_config.json"), "w") as fo:
    json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 100, "model_max_length": 120,
               "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}, fo)
tok = T5Tokenizer.from_pretrained(tokdir)
enc = T5EncoderModel.from_pretrained(os.path.join(T5DIR, "enc")).eval()
tr = PixArtTransformer2DModel(num_attention_heads=2, attention_head_dim=8, in_channels=4,
                              out_channels=8, num_layers=2, patch_size=2, sample_size=8,
                              caption_channels=32, norm_type="ada_norm_single",
                              cross_attention_dim=16, use_additional_conditions=False).eval()
with torch.no_grad():
    for name, p in tr.named_parameters():
        if name.endswith("scale_shift_table"):
            p.copy_(torch.randn_like(p) * 0.3)
        elif p.dim() >= 2:
            p.copy_(torch.randn_like(p) / p[0].numel() ** 0.5)
        else:
            p.copy_(torch.randn_like(p) * 0.1)
vae = AutoencoderKL.from_pretrained(os.path.join(HERE, "vae")).eval()
sch = DPMSolverMultistepScheduler.from_config(PIXART_DPM)
pipe = PixArtAlphaPipeline(tokenizer=tok, text_encoder=enc, vae=vae, transformer=tr, scheduler=sch)
mdir = os.path.join(OUT, "model")
pipe.save_pretrained(mdir, safe_serialization=True)
if not os.path.exists(os.path.join(mdir, "tokenizer", "spiece.model")):
    shutil.copy(os.path.join(T5DIR, "spiece.model"), os.path.join(mdir, "tokenizer", "spiece.model"))

pipe.to(torch.float64)
prompts = ["a red apple", "An astronaut riding a horse, oil painting"]
H = W = 32
steps, g = 4, 4.5
lat = torch.randn(2, 4, 8, 8, dtype=torch.float64)
with torch.no_grad():
    pe, pm, ne, nm = pipe.encode_prompt(prompts, do_classifier_free_guidance=True, negative_prompt="",
                                        num_images_per_prompt=1, device="cpu", clean_caption=False,
                                        max_sequence_length=120)
    kw = dict(prompt=prompts, negative_prompt="", num_inference_steps=steps, guidance_scale=g,
              height=H, width=W, use_resolution_binning=False, clean_caption=False)
    out_lat = pipe(latents=lat.clone(), output_type="latent", **kw).images
    out_img = pipe(latents=lat.clone(), output_type="pt", **kw).images
ti = tok(prompts, padding="max_length", max_length=120, truncation=True, add_special_tokens=True,
         return_tensors="pt")
tn = tok([""], padding="max_length", max_length=120, truncation=True, add_special_tokens=True,
         return_tensors="pt")
f = lambda t: t.float().contiguous()
save_file({"ids": ti.input_ids, "mask": ti.attention_mask, "neg_ids": tn.input_ids,
           "neg_mask": tn.attention_mask, "embeds": f(pe), "neg_embeds": f(ne[:1]),
           "latents_in": f(lat), "latents_out": f(out_lat), "image": f(out_img)},
          os.path.join(OUT, "pipe_io.safetensors"))
with open(os.path.join(OUT, "pipe.json"), "w") as fo:
    json.dump({"prompts": prompts, "negative_prompt": "", "steps": steps, "guidance_scale": g,
               "height": H, "width": W}, fo, indent=1)
shutil.rmtree(tokdir)
print("pipe ok", out_lat.shape, out_img.shape, float(out_img.mean()))
