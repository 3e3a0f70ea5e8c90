#!/usr/bin/env python3
"""vocos_convert.py - official gemelo-ai/vocos checkpoint -> diffcore Vocos folder.

A diffcore Vocos vocoder (lib/speech/vocos.h) is a folder with config.json
and model.safetensors.  This makes one from a checkpoint as gemelo-ai/vocos
publishes it (e.g. the Hugging Face release charactr/vocos-mel-24khz:
config.yaml + pytorch_model.bin):

Usage:
  vocos_convert.py CONFIG.yaml PYTORCH_MODEL.bin OUTDIR [--f16]

CONFIG.yaml is the release's config (top-level feature_extractor /
backbone / head, each {class_path, init_args}); a training config
(configs/vocos.yaml, the same under model.init_args) is accepted too, and
so is a Lightning checkpoint ({'state_dict': ...}, the discriminators and
losses are ignored).  Only the mel model is supported: feature extractor
vocos.feature_extractors.MelSpectrogramFeatures, backbone
vocos.models.VocosBackbone without adanorm (the EnCodec variant's
bandwidth-conditioned LayerNorms are refused), head vocos.heads.ISTFTHead.

config.json: model_type "vocos", n_mels, dim, intermediate_dim,
num_layers, n_fft, hop_length, sampling_rate and padding ("same" or
"center", the head's ISTFT padding), plus "features": the feature
extractor's parameters, for reference only (the C vocoder takes the
log-mel as given: log(clip(|STFT| mel, 1e-7)), torchaudio MelSpectrogram,
power 1, HTK mel scale, no filter normalisation, Hann window).
model.safetensors: backbone.* and head.out.*, the state_dict's own names;
head.istft.window and feature_extractor.* are dropped.  F32, or F16 with
--f16.  Everything is checked before OUTDIR is written.

Only torch (to unpickle), yaml, json and numpy are needed; the safetensors
file is written by hand (fs2_convert.save_safetensors).
"""
import json
import os
import sys

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fs2_convert import save_safetensors  # noqa: E402  (the one safetensors writer)

MEL_DEFAULTS = {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "n_mels": 100,
                "padding": "center"}


class ConvertError(Exception):
    pass


def _need(cond, what):
    if not cond:
        raise ConvertError(what)


def _section(y, name):
    s = y.get(name)
    if s is None and isinstance(y.get("model"), dict):
        s = (y["model"].get("init_args") or {}).get(name)
    _need(isinstance(s, dict) and "class_path" in s, "config: no '%s' {class_path, init_args}" % name)
    return s["class_path"], dict(s.get("init_args") or {})


def make_config(y):
    """The diffcore config.json (a dict) from the official yaml (a dict)."""
    _need(isinstance(y, dict), "config: not a YAML mapping")
    fe_cls, fe = _section(y, "feature_extractor")
    bb_cls, bb = _section(y, "backbone")
    hd_cls, hd = _section(y, "head")
    _need(bb_cls.rsplit(".", 1)[-1] == "VocosBackbone",
          "backbone %s is not supported (only VocosBackbone)" % bb_cls)
    _need(bb.get("adanorm_num_embeddings") is None,
          "backbone has adanorm (adanorm_num_embeddings %r: the EnCodec variant); only the "
          "unconditioned mel model is supported" % bb.get("adanorm_num_embeddings"))
    _need(hd_cls.rsplit(".", 1)[-1] == "ISTFTHead",
          "head %s is not supported (only ISTFTHead)" % hd_cls)
    _need(fe_cls.rsplit(".", 1)[-1] == "MelSpectrogramFeatures",
          "feature extractor %s is not supported (only MelSpectrogramFeatures: the mel model)"
          % fe_cls)
    feats = dict(MEL_DEFAULTS)
    feats.update(fe)
    feats = {"class": fe_cls, **feats, "power": 1, "mel_scale": "htk", "f_min": 0.0,
             "f_max": feats["sample_rate"] / 2, "window": "hann", "log": "log(clip(x, 1e-7))"}
    for k in ("input_channels", "dim", "intermediate_dim", "num_layers"):
        _need(k in bb, "config: backbone init_args lacks '%s'" % k)
    for k in ("dim", "n_fft", "hop_length"):
        _need(k in hd, "config: head init_args lacks '%s'" % k)
    padding = hd.get("padding", "same")
    _need(padding in ("same", "center"), "head padding %r is not 'same' or 'center'" % padding)
    _need(int(hd["dim"]) == int(bb["dim"]), "head dim %s != backbone dim %s" % (hd["dim"], bb["dim"]))
    _need(int(feats["n_mels"]) == int(bb["input_channels"]),
          "feature extractor n_mels %s != backbone input_channels %s"
          % (feats["n_mels"], bb["input_channels"]))
    _need(int(feats["hop_length"]) == int(hd["hop_length"]),
          "feature extractor hop_length %s != head hop_length %s"
          % (feats["hop_length"], hd["hop_length"]))
    return {
        "model_type": "vocos",
        "n_mels": int(bb["input_channels"]), "dim": int(bb["dim"]),
        "intermediate_dim": int(bb["intermediate_dim"]), "num_layers": int(bb["num_layers"]),
        "n_fft": int(hd["n_fft"]), "hop_length": int(hd["hop_length"]),
        "sampling_rate": int(feats["sample_rate"]), "padding": padding,
        "features": feats,
    }


def select_tensors(cfg, sd):
    """The tensors to keep, as (name, float32 numpy), checked against cfg."""
    _need(isinstance(sd, dict), "checkpoint: not a state_dict")
    if "state_dict" in sd and isinstance(sd["state_dict"], dict):   # Lightning checkpoint
        sd = sd["state_dict"]
    d, I, M, L = cfg["dim"], cfg["intermediate_dim"], cfg["n_mels"], cfg["num_layers"]
    want = {"backbone.embed.weight": (d, M, 7), "backbone.embed.bias": (d,),
            "backbone.norm.weight": (d,), "backbone.norm.bias": (d,),
            "backbone.final_layer_norm.weight": (d,), "backbone.final_layer_norm.bias": (d,),
            "head.out.weight": (cfg["n_fft"] + 2, d), "head.out.bias": (cfg["n_fft"] + 2,)}
    for i in range(L):
        p = "backbone.convnext.%d." % i
        want.update({p + "dwconv.weight": (d, 1, 7), p + "dwconv.bias": (d,),
                     p + "norm.weight": (d,), p + "norm.bias": (d,),
                     p + "pwconv1.weight": (I, d), p + "pwconv1.bias": (I,),
                     p + "pwconv2.weight": (d, I), p + "pwconv2.bias": (d,),
                     p + "gamma": (d,)})
    extra = sorted(k for k in sd if k.startswith("backbone.") and k not in want)
    _need(not extra, "checkpoint: unexpected backbone tensors (%s%s): not a plain VocosBackbone "
          "of %d layers" % (", ".join(extra[:3]), ", ..." if len(extra) > 3 else "", L))
    out = []
    for k, shape in want.items():
        if k not in sd and k.endswith(".gamma"):      # layer_scale_init_value <= 0: no scale
            out.append((k, np.ones(shape, np.float32)))
            continue
        _need(k in sd, "checkpoint: no tensor '%s'" % k)
        t = sd[k]
        _need(torch.is_tensor(t) and t.is_floating_point(), "checkpoint: '%s' is not a float tensor" % k)
        _need(tuple(t.shape) == shape, "checkpoint: '%s' has shape %s, the config needs %s"
              % (k, list(t.shape), list(shape)))
        out.append((k, t.detach().float().cpu().numpy()))
    return out


def convert(config_path, ckpt_path, outdir, dtype="F32"):
    with open(config_path) as f:
        y = yaml.safe_load(f)
    cfg = make_config(y)
    sd = torch.load(ckpt_path, map_location="cpu")
    tensors = select_tensors(cfg, sd)
    os.makedirs(outdir, exist_ok=True)
    save_safetensors(os.path.join(outdir, "model.safetensors"), tensors, dtype)
    tmp = os.path.join(outdir, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(outdir, "config.json"))
    return cfg


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    opts = [a for a in argv if a.startswith("--")]
    if len(args) != 3 or any(o != "--f16" for o in opts):
        sys.stderr.write("usage: vocos_convert.py CONFIG.yaml PYTORCH_MODEL.bin OUTDIR [--f16]\n")
        return 2
    try:
        cfg = convert(args[0], args[1], args[2], "F16" if opts else "F32")
    except (ConvertError, OSError, yaml.YAMLError, ValueError, TypeError, RuntimeError) as e:
        sys.stderr.write("vocos_convert: %s\n" % e)
        return 1
    print("vocos_convert: %s: %d mels, dim %d, %d layers, n_fft %d, hop %d, %d Hz, %s padding"
          % (args[2], cfg["n_mels"], cfg["dim"], cfg["num_layers"], cfg["n_fft"],
             cfg["hop_length"], cfg["sampling_rate"], cfg["padding"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
