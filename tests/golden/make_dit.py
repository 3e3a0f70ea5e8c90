#!/usr/bin/env python3
# make_dit.py - the pieces of tests/unit/test_dit.c that are not in
# make_pipe.py's golden: the image resampling the PixArt pipelines do and a
# tiny ControlNet-Transformer for the pipe/ fixture.  Runs on the CPU with
# the reference libraries themselves (torch >= 1.13, Pillow >= 9, numpy); no
# diffusers needed -- the two functions below are transcribed from diffusers
# 58eb52c and only *call* torch/PIL, which do the arithmetic:
#
#   resize_and_crop_tensor   image_processor.PixArtImageProcessor (binning:
#                            F.interpolate bilinear, align_corners=False, then
#                            a centre crop)
#   control preprocessing    VaeImageProcessor.preprocess(image, height, width)
#                            for a PIL image: image.resize((w, h),
#                            resample=PIL.Image.LANCZOS), then /255, 2x-1
#
# Files ($OUT, default tests/golden/dit):
#   resize.safetensors
#     img_u8 [37,53,3] U8             a random RGB image (HWC)
#     lz_<w>x<h> [h,w,3] U8           PIL LANCZOS resize of img_u8 to w x h
#     crop_in [2,3,20,28] F32         a float batch (values in about [-1.2, 1.2])
#     crop_<w>x<h> [2,3,h,w] F32      resize_and_crop_tensor(crop_in, w, h)
#   controlnet/diffusion_pytorch_model.safetensors
#     a diffusers-research-format ControlNet-Transformer with one block for
#     pipe/model/transformer (2 layers): controlnet_blocks.0.transformer_block.*
#     copied from transformer_blocks.0.*, before_proj/after_proj random
#     (not zero, so the control visibly changes the output)
#   controlnet/config.json   {"num_layers": 1} (informative only)
# Run:  /usr/bin/python3 tests/golden/make_dit.py
import json
import os
import struct

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("OUT") or os.path.join(HERE, "dit")
os.makedirs(os.path.join(OUT, "controlnet"), exist_ok=True)
rng = np.random.default_rng(5)

DT = {"F32": np.float32, "U8": np.uint8, "I64": np.int64}


def st_read(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    hdr = json.loads(buf[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(buf[8 + n + b:8 + n + e], dtype=DT[v["dtype"]]).reshape(v["shape"])
    return out


def st_write(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k])
        name = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8"}[a.dtype]
        b = a.tobytes()
        hdr[k] = {"dtype": name, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def resize_and_crop_tensor(samples, new_width, new_height):
    orig_height, orig_width = samples.shape[2], samples.shape[3]
    if orig_height != new_height or orig_width != new_width:
        ratio = max(new_height / orig_height, new_width / orig_width)
        resized_width = int(orig_width * ratio)
        resized_height = int(orig_height * ratio)
        samples = F.interpolate(samples, size=(resized_height, resized_width), mode="bilinear",
                                align_corners=False)
        start_x = (resized_width - new_width) // 2
        end_x = start_x + new_width
        start_y = (resized_height - new_height) // 2
        end_y = start_y + new_height
        samples = samples[:, :, start_y:end_y, start_x:end_x]
    return samples


io = {}
img = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
# some structure, so that the filter's sign changes matter
img[10:20, :, 0] = 255
img[:, 30:33, 1] = 0
io["img_u8"] = img
pil = PIL.Image.fromarray(img, "RGB")
for w, h in [(32, 32), (64, 48), (53, 37), (20, 60), (107, 75)]:
    io["lz_%dx%d" % (w, h)] = np.asarray(pil.resize((w, h), resample=PIL.Image.LANCZOS))

x = torch.from_numpy(rng.uniform(-1.2, 1.2, size=(2, 3, 20, 28)).astype(np.float32))
io["crop_in"] = x.numpy()
for w, h in [(28, 20), (24, 24), (40, 18), (17, 33), (56, 40)]:
    io["crop_%dx%d" % (w, h)] = resize_and_crop_tensor(x, w, h).contiguous().numpy()
st_write(os.path.join(OUT, "resize.safetensors"), io)

tr = st_read(os.path.join(HERE, "pipe", "model", "transformer",
                          "diffusion_pytorch_model.safetensors"))
D = tr["proj_out.weight"].shape[1]
ctl = {}
for k, v in tr.items():
    if k.startswith("transformer_blocks.0."):
        ctl["controlnet_blocks.0.transformer_block." + k[len("transformer_blocks.0."):]] = v.copy()
for p in ("before_proj", "after_proj"):
    ctl["controlnet_blocks.0.%s.weight" % p] = (rng.standard_normal((D, D)) / D ** 0.5).astype(np.float32)
    ctl["controlnet_blocks.0.%s.bias" % p] = (0.1 * rng.standard_normal(D)).astype(np.float32)
st_write(os.path.join(OUT, "controlnet", "diffusion_pytorch_model.safetensors"), ctl)
with open(os.path.join(OUT, "controlnet", "config.json"), "w") as fo:
    json.dump({"_class_name": "PixArtControlNetAdapterModel", "num_layers": 1}, fo, indent=1)
print("dit ok", sorted(io), len(ctl))
