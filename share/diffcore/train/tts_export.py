#!/usr/bin/env python3
"""tts_export.py - the trained default voice -> share/diffcore/models/tts-slt.

  tts_export.py FS2_A.pt FS2_B.pt VOCOS_G.pt OUTDIR

FS2_A/B.pt are train_tts_fs2.py's checkpoint split in two (the device
returns files of at most 16 MiB): {'model': part of the state_dict, and in
A 'pre', 'mod', 'stats', 'symbols', 'step'}.  VOCOS_G.pt is
{'model': the Vocos generator's state_dict} (train_tts_vocos.py).

OUTDIR/config.json + model.safetensors: the FastSpeech 2 folder
(share/diffcore/tools/fs2_convert.py, F16; the symbol table and
"phonemizer": "festival" - the voice was trained on festival's
post-lexical phones - added).  OUTDIR/vocoder/config.json +
model.safetensors: the Vocos folder of lib/speech/vocos.h, F16.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import fs2_convert  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    fa, fb, vg, out = sys.argv[1:]
    a = torch.load(fa, map_location="cpu")
    b = torch.load(fb, map_location="cpu")
    sd = dict(a["model"])
    sd.update(b["model"])
    tmp = os.path.join(out, "fs2_tmp.pt")
    os.makedirs(out, exist_ok=True)
    torch.save({"model": {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}}, tmp)
    cfg = fs2_convert.convert(tmp, a["pre"], a["mod"], a["stats"], out, "F16", a["symbols"])
    os.remove(tmp)
    cfg["phonemizer"] = "festival"
    cfg["pitch_control"] = "resample"   # the distilled decoder barely follows its pitch embedding
    cfg["training_steps"] = int(a["step"])
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    v = torch.load(vg, map_location="cpu")["model"]
    vd = os.path.join(out, "vocoder")
    os.makedirs(vd, exist_ok=True)
    fs2_convert.save_safetensors(os.path.join(vd, "model.safetensors"),
                                 [(k, t.float().numpy()) for k, t in v.items()], "F16")
    nl = sum(1 for k in v if k.endswith("dwconv.weight"))
    vc = {"model_type": "vocos", "n_mels": 80, "dim": int(v["backbone.embed.weight"].shape[0]),
          "intermediate_dim": int(v["backbone.convnext.0.pwconv1.weight"].shape[0]),
          "num_layers": nl, "n_fft": int(v["head.out.weight"].shape[0]) - 2, "hop_length": 256,
          "sampling_rate": 22050, "training_steps": int(torch.load(vg, map_location="cpu")["step"])}
    with open(os.path.join(vd, "config.json"), "w") as f:
        json.dump(vc, f, indent=1)
        f.write("\n")
    print("voice in %s: %d symbols, FastSpeech 2 %d steps, Vocos %d steps" % (
        out, len(a["symbols"]), a["step"], vc["training_steps"]))


if __name__ == "__main__":
    main()
