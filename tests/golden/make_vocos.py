#!/usr/bin/python3
"""make_vocos.py - golden files for tests/unit/test_vocos.c (lib/speech/vocos.c).

Runs share/diffcore/train/vocos_model.py (the PyTorch Vocos generator) on
small random-weight models and writes, per case, a model folder the C
loader reads and the input/output pair:

  tests/golden/vocos/               case "small", F32 weights
      config.json, model.safetensors   n_mels 80, dim 64, intermediate 192,
                                       3 layers, n_fft 256, hop 64
      mel.npy    f32 [40][80]   log-mel input, frame-major (C layout)
      audio.npy  f32 [40*64]    torch float32 output, then
                 f64 [40*64]    the same model run in float64
  tests/golden/vocos/geo/           case "geo", BF16 weights (the reference
                                    runs the bf16-rounded weights in f32/f64)
      n_mels 80, dim 32, intermediate 64, 1 layer, n_fft 1024, hop 256
      (the default ISTFT geometry), 12 frames; same files.
  tests/golden/vocos/official/      case "official": the OFFICIAL gemelo-ai/vocos
                                    classes with the published mel model's
                                    config structure (MelSpectrogramFeatures,
                                    VocosBackbone, ISTFTHead padding "center"),
      n_mels 100, dim 48, intermediate 96, 2 layers, n_fft 256, hop 64,
      24 kHz; random weights saved as a fake release (config.yaml +
      pytorch_model.bin in a temp folder), loaded back with the official
      Vocos.from_hparams + load_state_dict, converted by
      share/diffcore/tools/vocos_convert.py (F32); 40 frames -> 39*64
      samples: audio.npy holds the official decode() in float32, then
      in float64 (the same modules .double()).

The official case needs the gemelo-ai/vocos source (not committed), by
default at /tmp/vocosref/vocos (VOCOS_SRC=/path/to/vocos to change); its
optional imports huggingface_hub and encodec are stubbed.

Every weight is random (LayerNorm affine, gamma and all), so each one
matters; the head's log-magnitude rows are kept moderate (exp does not
saturate everywhere) with a few bins' biases raised so that some
magnitudes hit the 100 clip (the script prints how many).

Run: /usr/bin/python3 tests/golden/make_vocos.py  (torch 1.13, numpy)
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "share", "diffcore", "train"))
from vocos_model import Vocos  # noqa: E402


def save_safetensors(path, tensors, dtype):
    """tensors: list of (name, float32 numpy array) -> one safetensors file (F32 or BF16)."""
    header, blobs, off = {}, [], 0
    for name, a in sorted(tensors, key=lambda t: t[0]):
        a = np.ascontiguousarray(a, dtype=np.float32)
        if dtype == "BF16":   # the values are already bf16-exact: keep the top halves
            b = (a.view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            b = a.astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomise(model, g, n_fft):
    F = n_fft // 2 + 1
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
        W, b = model.head.out.weight, model.head.out.bias
        W[:F] *= 0.7                                   # log-magnitudes ~ N(0, 0.5)
        W[F:] *= 3.0                                   # phases spread over several turns
        b[:F] = 0.5 * torch.randn(F, generator=g)
        idx = torch.randperm(F, generator=g)[:4]
        b[idx] = 6.0                                   # these bins hit the clip


def case(outdir, cfg, frames, dtype, seed):
    os.makedirs(outdir, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    model = Vocos(cfg["n_mels"], cfg["dim"], cfg["intermediate_dim"], cfg["num_layers"],
                  cfg["n_fft"], cfg["hop_length"]).eval()
    randomise(model, g, cfg["n_fft"])
    if dtype == "BF16":
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(torch.bfloat16).float())
    mel = (torch.randn(frames, cfg["n_mels"], generator=g) * 1.5 - 5.0).float()
    with torch.no_grad():
        y32 = model(mel.T[None])[0].numpy().astype(np.float32)
        head = model.head.out(model.backbone(mel.T[None]))[0, :, :cfg["n_fft"] // 2 + 1]
        clipped = int((head > np.log(100.0)).sum())
        md = Vocos(cfg["n_mels"], cfg["dim"], cfg["intermediate_dim"], cfg["num_layers"],
                   cfg["n_fft"], cfg["hop_length"]).eval()
        md.load_state_dict(model.state_dict())
        md = md.double()
        md.head.window = torch.hann_window(cfg["n_fft"], dtype=torch.float64)
        y64 = md(mel.T[None].double())[0].numpy()
    assert y32.shape == (frames * cfg["hop_length"],)
    tensors = [(k, v.numpy()) for k, v in model.state_dict().items()]
    save_safetensors(os.path.join(outdir, "model.safetensors"), tensors, dtype)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    with open(os.path.join(outdir, "mel.npy"), "wb") as f:
        np.save(f, mel.numpy())
    with open(os.path.join(outdir, "audio.npy"), "wb") as f:
        np.save(f, y32)
        np.save(f, y64)
    print("%s: %d params, %d frames, %d of %d magnitudes clipped, max|y| %.3g, "
          "max|y32-y64| %.3g" % (outdir, sum(p.numel() for p in model.parameters()), frames,
                                 clipped, head.numel(), np.abs(y64).max(),
                                 np.abs(y32 - y64).max()))


def official_vocos():
    """The gemelo-ai/vocos package (vocos.pretrained.Vocos), imported from VOCOS_SRC."""
    src = os.environ.get("VOCOS_SRC", "/tmp/vocosref/vocos")
    for name, attr in (("huggingface_hub", "hf_hub_download"), ("encodec", "EncodecModel")):
        if name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                stub = types.ModuleType(name)
                setattr(stub, attr, None)
                sys.modules[name] = stub
    pkg = types.ModuleType("vocos")
    pkg.__path__ = [src]
    sys.modules["vocos"] = pkg
    from vocos.pretrained import Vocos as OfficialVocos
    return OfficialVocos


OFFICIAL_YAML = """feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args:
    sample_rate: 24000
    n_fft: 256
    hop_length: 64
    n_mels: 100
    padding: center

backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: 100
    dim: 48
    intermediate_dim: 96
    num_layers: 2

head:
  class_path: vocos.heads.ISTFTHead
  init_args:
    dim: 48
    n_fft: 256
    hop_length: 64
    padding: center
"""


def official_case(outdir, frames, seed):
    OfficialVocos = official_vocos()
    tmp = tempfile.mkdtemp(prefix="vocos_official_")
    try:
        cfg_path = os.path.join(tmp, "config.yaml")
        bin_path = os.path.join(tmp, "pytorch_model.bin")
        with open(cfg_path, "w") as f:
            f.write(OFFICIAL_YAML)
        g = torch.Generator().manual_seed(seed)
        model = OfficialVocos.from_hparams(cfg_path)
        randomise(model, g, 256)
        torch.save(model.state_dict(), bin_path)       # the release's layout: the whole Vocos
        # load it back the way Vocos.from_pretrained does
        model = OfficialVocos.from_hparams(cfg_path)
        model.load_state_dict(torch.load(bin_path, map_location="cpu"))
        model.eval()
        if os.path.isdir(outdir):
            shutil.rmtree(outdir)
        subprocess.check_call([sys.executable, os.path.join(TOP, "share", "diffcore", "tools",
                                                            "vocos_convert.py"),
                               cfg_path, bin_path, outdir])
    finally:
        shutil.rmtree(tmp)
    mel = (torch.randn(frames, 100, generator=g) * 1.5 - 5.0).float()
    y32 = model.decode(mel.T[None])[0].numpy().astype(np.float32)
    model = model.double()
    y64 = model.decode(mel.T[None].double())[0].numpy()
    assert model.head.istft.window.dtype == torch.float64
    assert y32.shape == ((frames - 1) * 64,), y32.shape
    with open(os.path.join(outdir, "mel.npy"), "wb") as f:
        np.save(f, mel.numpy())
    with open(os.path.join(outdir, "audio.npy"), "wb") as f:
        np.save(f, y32)
        np.save(f, y64)
    print("%s: %d params, %d frames, max|y| %.3g, max|y32-y64| %.3g"
          % (outdir, sum(p.numel() for n, p in model.named_parameters()), frames,
             np.abs(y64).max(), np.abs(y32 - y64).max()))


def main():
    base = os.path.join(TOP, "tests", "golden", "vocos")
    small = {"model_type": "vocos", "n_mels": 80, "dim": 64, "intermediate_dim": 192,
             "num_layers": 3, "n_fft": 256, "hop_length": 64, "sampling_rate": 22050}
    geo = {"model_type": "vocos", "n_mels": 80, "dim": 32, "intermediate_dim": 64,
           "num_layers": 1, "n_fft": 1024, "hop_length": 256, "sampling_rate": 22050}
    case(base, small, 40, "F32", 1)
    case(os.path.join(base, "geo"), geo, 12, "BF16", 2)
    official_case(os.path.join(base, "official"), 40, 3)


if __name__ == "__main__":
    main()
