#!/usr/bin/env python3
"""
make_sched.py - golden step-by-step traces of diffusers' schedulers for
tests/unit/test_sched.c (lib/sched).

Runs DPMSolverMultistepScheduler, DDIMScheduler, EulerDiscreteScheduler and
LCMScheduler from diffusers (PYTHONPATH=.ref, CPU torch, float32 as the
PixArt pipeline uses) through a loop shaped like PixArtAlphaPipeline's:

    latents = init * init_noise_sigma
    for i, t in enumerate(timesteps):
        inp = scale_model_input(cat([latents] * B), t)
        out = raw[i][2 - B:] + 0.25 * inp.repeat(1, 2, 1, 1)  # fake 8-ch model
        if B == 2: u, c = out.chunk(2); out = u + 4.5 * (c - u)   # CFG
        eps = out.chunk(2, dim=1)[0]                      # learned-sigma split
        latents = step(eps, t, latents)[0]

The fake model depends on its (scaled) input so errors in
scale_model_input feed back.  Stochastic steps (LCM re-noising, DDIM eta)
take their noise from the saved `noise` tensor (step i uses noise[i]).

B = 2 (CFG, guidance 4.5) except for the PixArt-LCM run ("lcm": B = 1, the
cond half, as LCM runs with guidance 0).  Made with torch 2.11 / numpy on
the GPU machine's CPU:  PYTHONPATH=.ref python3 tests/golden/make_sched.py $OUT
(the C code reproduces that torch's float32 linspace and cumprod bit for
bit; torch 1.13 differs in the last bit of some betas).

Writes to $OUT (or argv[1]):
  configs.json        {name: scheduler config} of every run (split into
                      tests/golden/sched/<name>.json by hand: $OUT takes 8 files)
  sched.safetensors   inputs/init [64], inputs/raw [25,2,8,4,4],
                      inputs/noise [25,64], ac/<name> alphas_cumprod [T],
                      <name>/ts timesteps for N = 1..50 concatenated (I16,
                      Euler F32), <name>/ts_len their lengths [50] (I32; 0 where
                      diffusers refuses the step count),
                      <name>/run<N> every step's latents [N,64],
                      <name>/x0_<N> the step's second output for N == 1.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from diffusers.schedulers import scheduling_lcm
from diffusers.schedulers.scheduling_lcm import LCMScheduler

out_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT", "/tmp/sched_out")
os.makedirs(out_dir, exist_ok=True)
torch.set_num_threads(1)

PIXART_DPM = {
    "_class_name": "DPMSolverMultistepScheduler",
    "_diffusers_version": "0.22.0.dev0",
    "algorithm_type": "dpmsolver++",
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "dynamic_thresholding_ratio": 0.995,
    "euler_at_final": False,
    "lambda_min_clipped": -math.inf,
    "lower_order_final": True,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "solver_order": 2,
    "solver_type": "midpoint",
    "steps_offset": 0,
    "thresholding": False,
    "timestep_spacing": "linspace",
    "trained_betas": None,
    "use_karras_sigmas": False,
    "use_lu_lambdas": False,
    "variance_type": None,
}
PIXART_LCM = {
    "_class_name": "LCMScheduler",
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "original_inference_steps": 50,
    "prediction_type": "epsilon",
    "set_alpha_to_one": True,
    "steps_offset": 0,
    "timestep_scaling": 10.0,
    "timestep_spacing": "leading",
}
SD = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
      "timestep_spacing": "leading", "steps_offset": 1}

def with_(base, **kw):
    d = dict(base)
    d.update(kw)
    return d

STEPS = [1, 2, 4, 20, 25]
STEPS4 = [1, 2, 4, 20]   # variants: no 25-step trace (goldens < 300 KB)
# name: (class, config written to <name>.json, cfg?, step counts, step kwargs)
RUNS = [
    ("dpm", DPMSolverMultistepScheduler, PIXART_DPM, STEPS, {}),
    ("dpm_karras", DPMSolverMultistepScheduler, with_(PIXART_DPM, use_karras_sigmas=True), STEPS, {}),
    ("dpm_sd", DPMSolverMultistepScheduler,
     with_(PIXART_DPM, **SD, prediction_type="v_prediction", solver_type="heun",
           final_sigmas_type="sigma_min"), STEPS4, {}),
    ("dpm_trailing", DPMSolverMultistepScheduler,
     with_(PIXART_DPM, timestep_spacing="trailing", prediction_type="sample", solver_order=3),
     STEPS4, {}),
    # what DDIMScheduler.from_config(pixart scheduler config) gives (clip_sample defaults True)
    ("ddim", DDIMScheduler, with_(PIXART_DPM, _class_name="DDIMScheduler"), STEPS, {}),
    ("ddim_sd", DDIMScheduler,
     {"_class_name": "DDIMScheduler", **SD, "clip_sample": False, "set_alpha_to_one": False,
      "prediction_type": "v_prediction"}, STEPS4, {"eta": 0.3}),
    ("euler", EulerDiscreteScheduler, with_(PIXART_DPM, _class_name="EulerDiscreteScheduler"), STEPS, {}),
    ("euler_sd", EulerDiscreteScheduler,
     {"_class_name": "EulerDiscreteScheduler", **SD, "prediction_type": "v_prediction"}, STEPS4, {}),
    ("euler_karras", EulerDiscreteScheduler,
     with_(PIXART_DPM, _class_name="EulerDiscreteScheduler", use_karras_sigmas=True), STEPS4, {}),
    ("lcm", LCMScheduler, PIXART_LCM, [1, 2, 4, 8, 20], {}),
    # options PixArt does not use (fewer step counts to keep the goldens small)
    ("dpm_cosine", DPMSolverMultistepScheduler,
     with_(PIXART_DPM, beta_schedule="squaredcos_cap_v2", lambda_min_clipped=-5.1,
           euler_at_final=True), [1, 3, 10], {}),
    ("dpm1_karras", DPMSolverMultistepScheduler,
     with_(PIXART_DPM, solver_order=1, use_karras_sigmas=True, final_sigmas_type="sigma_min",
           prediction_type="v_prediction"), [1, 3, 10], {}),
    ("ddim_cosine", DDIMScheduler,
     {"_class_name": "DDIMScheduler", "beta_schedule": "squaredcos_cap_v2",
      "timestep_spacing": "trailing", "prediction_type": "sample", "clip_sample": True,
      "clip_sample_range": 0.5}, [1, 3, 10], {"eta": 1.0}),
    ("euler_trailing", EulerDiscreteScheduler,
     {"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "trailing",
      "prediction_type": "sample", "final_sigmas_type": "sigma_min"}, [1, 3, 10], {}),
    # LCM's own defaults (scaled_linear 0.00085..0.012) with other options
    ("lcm_v", LCMScheduler,
     {"_class_name": "LCMScheduler", "prediction_type": "v_prediction", "clip_sample": True,
      "clip_sample_range": 1.5, "timestep_scaling": 5.0, "original_inference_steps": 25,
      "set_alpha_to_one": False}, [1, 3, 10], {}),
]
NOCFG = {"lcm"}  # lcm_v runs with CFG like the rest
G = 4.5
NMAX = 25

gen = torch.Generator().manual_seed(1234)
init = torch.randn(1, 4, 4, 4, generator=gen, dtype=torch.float32)
raw = torch.randn(NMAX, 2, 8, 4, 4, generator=gen, dtype=torch.float32)
noise = torch.randn(NMAX, 1, 4, 4, 4, generator=gen, dtype=torch.float32)

tensors = {}  # name -> np array
tensors["inputs/init"] = init.numpy().reshape(-1)
tensors["inputs/raw"] = raw.numpy()
tensors["inputs/noise"] = noise.numpy().reshape(NMAX, -1)

cur = {"i": 0}
def fake_randn(shape, generator=None, device=None, dtype=None, layout=None):
    return noise[cur["i"]].to(dtype or torch.float32).reshape(shape)
scheduling_lcm.randn_tensor = fake_randn

with open(os.path.join(out_dir, "configs.json"), "w") as f:
    json.dump({r[0]: r[2] for r in RUNS}, f, indent=2)  # -Infinity as diffusers writes it

for name, cls, cfg, steps, kw in RUNS:
    sch = cls.from_config(cfg)
    tensors["ac/" + name] = sch.alphas_cumprod.numpy().astype(np.float32)
    is_float = cls is EulerDiscreteScheduler
    for n in range(1, 51):
        try:
            sch.set_timesteps(n)
            ts = sch.timesteps.numpy()
        except ValueError:  # e.g. LCM: more steps than original_inference_steps
            ts = np.zeros(0)
        tensors["%s/ts%d" % (name, n)] = ts.astype(np.float32 if is_float else np.int16)
    for n in steps:
        sch = cls.from_config(cfg)
        sch.set_timesteps(n)
        if hasattr(sch, "set_begin_index"):
            sch.set_begin_index(0)
        lat = init.clone() * sch.init_noise_sigma
        B = 1 if name in NOCFG else 2
        trace = []
        x0 = None
        for i, t in enumerate(sch.timesteps):
            cur["i"] = i
            inp = torch.cat([lat] * B)
            inp = sch.scale_model_input(inp, t)
            out = raw[i][2 - B:] + 0.25 * inp.repeat(1, 2, 1, 1)
            if B == 2:
                u, c = out.chunk(2)
                out = u + G * (c - u)
            eps = out.chunk(2, dim=1)[0]
            skw = dict(kw)
            if "eta" in skw:
                skw["variance_noise"] = noise[i]
            res = sch.step(eps, t, lat, return_dict=False, **skw)
            lat = res[0]
            if len(res) > 1:
                x0 = res[1]
            trace.append(lat.numpy().reshape(-1).copy())
        tensors["%s/run%d" % (name, n)] = np.stack(trace).astype(np.float32)
        if n == 1 and x0 is not None:
            tensors["%s/x0_%d" % (name, n)] = x0.numpy().reshape(-1).astype(np.float32)
        print(name, n, "steps, ts", [float(t) for t in sch.timesteps][:6],
              "final |x| max %.4g" % float(lat.abs().max()))

# pack the 50 timestep lists of each run into one tensor (smaller header)
for name, cls, cfg, steps, kw in RUNS:
    lists = [tensors.pop("%s/ts%d" % (name, n)) for n in range(1, 51)]
    tensors[name + "/ts"] = np.concatenate(lists)
    tensors[name + "/ts_len"] = np.array([len(l) for l in lists], dtype=np.int32)

# minimal safetensors writer (no dependency on the safetensors package)
DT = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32", np.dtype(np.int16): "I16"}
hdr, blobs, off = {}, [], 0
# wider dtypes first so every tensor's data stays aligned to its element size
for k in sorted(tensors, key=lambda k: (-tensors[k].dtype.itemsize, k)):
    a = np.ascontiguousarray(tensors[k])
    b = a.tobytes()
    hdr[k] = {"dtype": DT[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(hdr, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(out_dir, "sched.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    for b in blobs:
        f.write(b)
print("wrote", len(tensors), "tensors,", off + len(h) + 8, "bytes")
