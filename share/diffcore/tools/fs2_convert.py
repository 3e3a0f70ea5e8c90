#!/usr/bin/env python3
"""fs2_convert.py - ming024/FastSpeech2 checkpoint -> diffcore model folder.

A diffcore FastSpeech 2 model (lib/models/fastspeech2.h) is a folder with
config.json and model.safetensors.  The tensors keep EXACTLY the key names
of ming024's state_dict (encoder.src_word_emb.weight, encoder.layer_stack.0.
slf_attn.w_qs.weight, variance_adaptor.pitch_bins, postnet.convolutions.0.0.
conv.weight, ...), including the non-trainable ones (position tables, the
pitch/energy bucket boundaries, BatchNorm running statistics).
num_batches_tracked counters are dropped (integers, unused at inference).

Usage:
  fs2_convert.py CKPT.pth.tar PREPROCESS.yaml MODEL.yaml [STATS.json] OUTDIR [--f16]
                 [--symbols=SYMBOLS.txt]

CKPT is the torch pickle train.py saves ({'model': state_dict, 'optimizer':
..}; a bare state_dict is accepted too).  config.json takes the model
hyper-parameters from the yamls and checks them against the tensor shapes;
sizes that ming024 hard-codes (PostNet 512 x k5 x 5 layers, vocabulary
len(symbols)+1, speaker count from speakers.json) are read from the tensors.
STATS.json (preprocessed_path/stats.json) is copied into the config as
"stats" for reference only: the bucket boundaries themselves are tensors.
The audio parameters of the mel spectrograms (sampling_rate, filter_length,
hop_length, win_length, mel_fmin, mel_fmax) are copied from PREPROCESS.yaml.
--symbols=FILE (one symbol per line, index = id) stores the phone symbol
table as "symbols", which tts-synth(1) needs to map its phones; for a
ming024 checkout, from its top folder (text/symbols.py imports
text.cmudict and text.pinyin):
  python3 -c "from text.symbols import symbols; print('\\n'.join(symbols))" > SYMBOLS.txt

Only torch (to unpickle), yaml and json are needed; the safetensors file is
written by hand.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import yaml


def save_safetensors(path, tensors, dtype="F32"):
    """tensors: list of (name, numpy array) -> one safetensors file, F32 or F16."""
    npdt = {"F32": np.float32, "F16": np.float16}[dtype]
    header, blobs, off = {}, [], 0
    for name, a in sorted(tensors, key=lambda t: t[0]):
        b = np.ascontiguousarray(a, dtype=npdt).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def _need(cond, what):
    if not cond:
        sys.exit("fs2_convert: " + what)


def make_config(pre, mod, sd, stats=None):
    t, vp, ve = mod["transformer"], mod["variance_predictor"], mod["variance_embedding"]
    pp = pre["preprocessing"]
    cfg = {
        "model_type": "fastspeech2",
        "encoder_layer": int(t["encoder_layer"]), "encoder_head": int(t["encoder_head"]),
        "encoder_hidden": int(t["encoder_hidden"]),
        "decoder_layer": int(t["decoder_layer"]), "decoder_head": int(t["decoder_head"]),
        "decoder_hidden": int(t["decoder_hidden"]),
        "conv_filter_size": int(t["conv_filter_size"]),
        "conv_kernel_size": [int(k) for k in t["conv_kernel_size"]],
        "variance_filter_size": int(vp["filter_size"]),
        "variance_kernel_size": int(vp["kernel_size"]),
        "pitch_quantization": ve["pitch_quantization"],
        "energy_quantization": ve["energy_quantization"],
        "n_bins": int(ve["n_bins"]),
        "pitch_feature": pp["pitch"]["feature"],
        "energy_feature": pp["energy"]["feature"],
        "n_mel_channels": int(pp["mel"]["n_mel_channels"]),
        "max_seq_len": int(mod["max_seq_len"]),
        "multi_speaker": bool(mod["multi_speaker"]),
    }
    w = sd["encoder.src_word_emb.weight"]
    cfg["n_src_vocab"] = int(w.shape[0])
    if cfg["multi_speaker"]:
        _need("speaker_emb.weight" in sd, "multi_speaker is set but there is no speaker_emb.weight")
        cfg["n_speaker"] = int(sd["speaker_emb.weight"].shape[0])
    pw = sd["postnet.convolutions.0.0.conv.weight"]
    cfg["postnet_embedding_dim"] = int(pw.shape[0])
    cfg["postnet_kernel_size"] = int(pw.shape[2])
    n = 0
    while "postnet.convolutions.%d.0.conv.weight" % n in sd:
        n += 1
    cfg["postnet_n_convolutions"] = n
    _need(int(pw.shape[1]) == cfg["n_mel_channels"], "postnet input channels %d != n_mel_channels %d"
          % (pw.shape[1], cfg["n_mel_channels"]))
    _need(tuple(w.shape) == (cfg["n_src_vocab"], cfg["encoder_hidden"]),
          "encoder.src_word_emb.weight has shape %s" % (list(w.shape),))
    _need(cfg["pitch_feature"] in ("phoneme_level", "frame_level"), "bad pitch feature")
    _need(cfg["energy_feature"] in ("phoneme_level", "frame_level"), "bad energy feature")
    au, sf, mel = pp.get("audio", {}), pp.get("stft", {}), pp.get("mel", {})
    if "sampling_rate" in au:
        cfg["sampling_rate"] = int(au["sampling_rate"])
    for k in ("filter_length", "hop_length", "win_length"):
        if k in sf:
            cfg[k] = int(sf[k])
    for k in ("mel_fmin", "mel_fmax"):
        if mel.get(k) is not None:
            cfg[k] = float(mel[k])
    if stats is not None:
        cfg["stats"] = {k: [float(x) for x in v] for k, v in stats.items()
                        if k in ("pitch", "energy")}
    return cfg


def convert(ckpt, pre, mod, stats, out, dtype="F32", symbols=None):
    sd = torch.load(ckpt, map_location="cpu")
    if isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
        sd = sd["model"]
    sd = {k[7:] if k.startswith("module.") else k: v for k, v in sd.items()}
    sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    cfg = make_config(pre, mod, sd, stats)
    if symbols is not None:
        _need(0 < len(symbols) <= cfg["n_src_vocab"], "%d symbols for a vocabulary of %d"
              % (len(symbols), cfg["n_src_vocab"]))
        cfg["symbols"] = list(symbols)
    os.makedirs(out, exist_ok=True)
    tens = [(k, v.detach().float().numpy()) for k, v in sd.items()]
    # bucket boundaries and position tables are exact f32 values: keep them F32
    save_safetensors(os.path.join(out, "model.safetensors"), tens, dtype)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    return cfg


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    dtype = "F16" if "--f16" in argv else "F32"
    symbols = None
    for a in argv:
        if a.startswith("--symbols="):
            with open(a[len("--symbols="):], encoding="utf-8") as f:
                symbols = [ln.rstrip("\r\n") for ln in f if ln.strip()]
    if len(args) not in (4, 5):
        sys.stderr.write(__doc__.split("Usage:")[1].split("\n\n")[0] + "\n")
        return 2
    ckpt, pre_p, mod_p = args[:3]
    stats = None
    if len(args) == 5:
        with open(args[3]) as f:
            stats = json.load(f)
    with open(pre_p) as f:
        pre = yaml.safe_load(f)
    with open(mod_p) as f:
        mod = yaml.safe_load(f)
    convert(ckpt, pre, mod, stats, args[-1], dtype, symbols)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
