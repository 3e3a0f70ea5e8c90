#!/usr/bin/env python3
"""make_fastspeech2.py - goldens for lib/models/fastspeech2.c.

Runs ming024/FastSpeech2 (fetched, not committed: git -C
/work/.mirror/ming024+FastSpeech2/repo archive HEAD | tar -x -C .ref/fs2)
on CPU in eval mode with random weights in two TINY configurations, and
writes tests/golden/fastspeech2/:

  a/   phoneme-level pitch and energy, linear buckets, one speaker,
       max_seq_len 200 (hidden 32, 2 heads, 2+2 layers, conv filter 48 k[9,1],
       variance filter 32 k3, 256 bins, 20 mels, postnet 5 x 32 k5)
  b/   frame-level pitch and energy, log buckets, 3 speakers, max_seq_len 12
       (so both the phone sequence and the frame sequence exceed it and the
       fresh sinusoid tables are used), conv kernel [3,1], postnet 4 x 24 k3,
       64 bins
  each folder: config.json + model.safetensors made by
  share/diffcore/tools/fs2_convert.py from a torch checkpoint (F16: every
  parameter is rounded to f16 before the reference runs, so the file is
  exact) and cases.safetensors: for case k: k.ids (phone ids, as f32),
  k.ctl [speaker, d_control, p_control, e_control], k.mel [T][n_mels]
  (before postnet), k.post (after), k.logd [n], k.dur [n] (d_rounded),
  k.pitch / k.energy ([n] or [T] as the feature level says).

The energy control: ming024 passes p_control to the energy embedding (a
bug); these goldens follow the paper (e_control), patched at run time.
PostNet's sizes are hard-coded in ming024 (80 mels, 512, k5, 5 layers):
the tiny ones are set by wrapping its constructor.
"""
import os
import sys
import types

import numpy as np
import torch

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REF = os.path.join(TOP, ".ref", "fs2")
sys.path.insert(0, REF)
sys.path.insert(0, os.path.join(TOP, "share", "diffcore", "tools"))
import fs2_convert  # noqa: E402

NSYM = 79
text = types.ModuleType("text")
text.__path__ = []
sym = types.ModuleType("text.symbols")
sym.symbols = ["s%d" % i for i in range(NSYM)]
sys.modules["text"] = text
sys.modules["text.symbols"] = sym

import transformer  # noqa: E402
import transformer.Layers as TL  # noqa: E402
import model.fastspeech2 as MF  # noqa: E402
import model.modules as MM  # noqa: E402

OUT = os.path.join(TOP, "tests", "golden", "fastspeech2")


def patch_energy():
    orig = MM.VarianceAdaptor.forward

    def fwd(self, x, src_mask, mel_mask=None, max_len=None, pitch_target=None,
            energy_target=None, duration_target=None, p_control=1.0, e_control=1.0,
            d_control=1.0):
        self._e = e_control
        return orig(self, x, src_mask, mel_mask, max_len, pitch_target, energy_target,
                    duration_target, p_control, e_control, d_control)

    ge = MM.VarianceAdaptor.get_energy_embedding

    def gee(self, x, target, mask, control):
        return ge(self, x, target, mask, self._e)

    MM.VarianceAdaptor.forward = fwd
    MM.VarianceAdaptor.get_energy_embedding = gee


patch_energy()


def build(name, pre, mod, stats, postnet, seed, tune):
    import tempfile
    import json
    import yaml
    torch.manual_seed(seed)
    tmp = tempfile.mkdtemp()
    pre["path"] = {"preprocessed_path": tmp}
    with open(os.path.join(tmp, "stats.json"), "w") as f:
        json.dump(stats, f)
    if mod["multi_speaker"]:
        with open(os.path.join(tmp, "speakers.json"), "w") as f:
            json.dump({"spk%d" % i: i for i in range(3)}, f)
    MF.PostNet = lambda: TL.PostNet(**postnet)
    m = MF.FastSpeech2(pre, mod)
    with torch.no_grad():
        for k, p in m.named_parameters():
            if p.requires_grad:
                p.normal_(0, 0.3 if p.dim() > 1 else 0.1)
        for k, b in m.named_buffers():
            if k.endswith("running_mean"):
                b.normal_(0, 0.1)
            elif k.endswith("running_var"):
                b.uniform_(0.5, 1.5)
        tune(m)
        for k, p in list(m.state_dict().items()):
            if p.dtype == torch.float32:
                p.copy_(p.half().float())
    m.eval()
    ck = os.path.join(tmp, "ck.pth.tar")
    torch.save({"model": m.state_dict(), "optimizer": None}, ck)
    d = os.path.join(OUT, name)
    for y, v in (("pre", pre), ("mod", mod)):
        with open(os.path.join(tmp, y + ".yaml"), "w") as f:
            yaml.safe_dump(v, f)
    fs2_convert.main([ck, os.path.join(tmp, "pre.yaml"), os.path.join(tmp, "mod.yaml"),
                      os.path.join(tmp, "stats.json"), d, "--f16"])
    return m


def run(m, cases, path):
    out = []
    for k, (ids, spk, dc, pc, ec) in enumerate(cases):
        t = torch.tensor([ids], dtype=torch.long)
        with torch.no_grad():
            r = m(torch.tensor([spk]), t, torch.tensor([len(ids)]), len(ids),
                  p_control=pc, e_control=ec, d_control=dc)
        mel, post, p, e, logd, dr = r[:6]
        print(path, k, "frames", mel.shape[1], "dur", dr[0].int().tolist())
        out += [("%d.ids" % k, np.array(ids, np.float32)),
                ("%d.ctl" % k, np.array([spk, dc, pc, ec], np.float32)),
                ("%d.mel" % k, mel[0].numpy()), ("%d.post" % k, post[0].numpy()),
                ("%d.logd" % k, logd[0].numpy()), ("%d.dur" % k, dr[0].numpy()),
                ("%d.pitch" % k, p[0].numpy()), ("%d.energy" % k, e[0].numpy())]
    fs2_convert.save_safetensors(path, out)


def main():
    rng = np.random.RandomState(7)
    base_mod = {
        "transformer": {"encoder_layer": 2, "encoder_head": 2, "encoder_hidden": 32,
                        "decoder_layer": 2, "decoder_head": 2, "decoder_hidden": 32,
                        "conv_filter_size": 48, "conv_kernel_size": [9, 1],
                        "encoder_dropout": 0.2, "decoder_dropout": 0.2},
        "variance_predictor": {"filter_size": 32, "kernel_size": 3, "dropout": 0.5},
        "variance_embedding": {"pitch_quantization": "linear", "energy_quantization": "linear",
                               "n_bins": 256},
        "multi_speaker": False, "max_seq_len": 200}
    pre = {"preprocessing": {"mel": {"n_mel_channels": 20},
                             "pitch": {"feature": "phoneme_level", "normalization": True},
                             "energy": {"feature": "phoneme_level", "normalization": True}}}
    stats = {"pitch": [-2.5, 6.0, 200.0, 40.0], "energy": [-1.5, 5.0, 40.0, 20.0]}

    def tune_a(m):
        va = m.variance_adaptor
        va.duration_predictor.linear_layer.bias.fill_(1.6)   # ~4 frames a phone
        va.duration_predictor.linear_layer.weight.mul_(3)
        va.pitch_predictor.linear_layer.weight.mul_(3)
        va.energy_predictor.linear_layer.weight.mul_(3)

    m = build("a", pre, base_mod, stats, dict(n_mel_channels=20, postnet_embedding_dim=32,
                                                postnet_kernel_size=5,
                                                postnet_n_convolutions=5), 1, tune_a)
    ids1 = rng.randint(1, NSYM + 1, size=60).tolist()
    ids2 = rng.randint(1, NSYM + 1, size=17).tolist()
    run(m, [(ids1, 0, 1.0, 1.0, 1.0), (ids2, 0, 0.5, 1.2, 0.8), (ids2, 0, 2.0, 0.7, 1.3)],
        os.path.join(OUT, "a", "cases.safetensors"))

    import copy
    mod = copy.deepcopy(base_mod)
    mod["transformer"].update(conv_kernel_size=[3, 1], decoder_layer=1)
    mod["variance_embedding"].update(pitch_quantization="log", energy_quantization="log",
                                     n_bins=64)
    mod["multi_speaker"] = True
    mod["max_seq_len"] = 12
    pre = copy.deepcopy(pre)
    pre["preprocessing"]["pitch"]["feature"] = "frame_level"
    pre["preprocessing"]["energy"]["feature"] = "frame_level"
    stats = {"pitch": [70.0, 400.0, 200.0, 40.0], "energy": [0.5, 60.0, 20.0, 10.0]}

    def tune_b(m):
        va = m.variance_adaptor
        va.duration_predictor.linear_layer.bias.fill_(1.7)
        va.duration_predictor.linear_layer.weight.mul_(1.5)
        va.pitch_predictor.linear_layer.weight.mul_(200)
        va.pitch_predictor.linear_layer.bias.fill_(180)
        va.energy_predictor.linear_layer.weight.mul_(20)
        va.energy_predictor.linear_layer.bias.fill_(15)

    m = build("b", pre, mod, stats, dict(n_mel_channels=20, postnet_embedding_dim=24,
                                          postnet_kernel_size=3, postnet_n_convolutions=4),
              2, tune_b)
    ids3 = rng.randint(1, NSYM + 1, size=15).tolist()
    run(m, [(ids3, 2, 1.0, 1.0, 1.0), (ids3, 1, 1.5, 1.1, 0.9), (ids3[:5], 0, 1.0, 1.0, 1.0)],
        os.path.join(OUT, "b", "cases.safetensors"))


if __name__ == "__main__":
    main()
