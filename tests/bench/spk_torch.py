#!/usr/bin/python3
"""spk_torch.py - the PyTorch peer of bench_spk: the ECAPA-TDNN of a
bench_spk model folder (config.json + embedding_model.safetensors, keys as
SpeechBrain's state_dict), timed on the folder's feats.f32.

The model is SpeechBrain's own ECAPA_TDNN class when importable (an
installed `speechbrain`, or the source tree named by $SPEECHBRAIN_SRC, e.g.
.ref/sb/speechbrain), else the plain-torch transcription below (the same
operations: reflect-padded "same" Conv1d, ReLU, BatchNorm1d in eval mode,
SE-Res2Net blocks, MFA, attentive statistics pooling with global context,
asp_bn, fc).  Runs under torch.inference_mode() with torch.set_num_threads(-t).

    spk_torch.py DIR [-t threads] [-r runs] [-T frames] [--label torch]

Prints the embedding's sum and first values (bench_spk's must agree) and
"RESULT label frames min_ms median_ms".
"""
import argparse
import json
import os
import struct
import sys
import time
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_safetensors(path):
    buf = open(path, "rb").read()
    (n,) = struct.unpack("<Q", buf[:8])
    hdr = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", v["dtype"]
        b, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(buf[base + b:base + e], dtype="<f4").copy()
                                  .reshape(v["shape"]))
    return out


# ---- plain-torch transcription of speechbrain/lobes/models/ECAPA_TDNN.py ----------

class Conv1d(nn.Module):
    """speechbrain.nnet.CNN.Conv1d, padding 'same', padding_mode 'reflect'."""

    def __init__(self, ic, oc, k, d=1):
        super().__init__()
        self.conv = nn.Conv1d(ic, oc, k, dilation=d)
        self.pad = d * (k - 1) // 2

    def forward(self, x):
        if self.pad:
            x = F.pad(x, (self.pad, self.pad), mode="reflect")
        return self.conv(x)


class BN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.BatchNorm1d(c)

    def forward(self, x):
        return self.norm(x)


class TDNN(nn.Module):
    def __init__(self, ic, oc, k, d):
        super().__init__()
        self.conv = Conv1d(ic, oc, k, d)
        self.norm = BN(oc)

    def forward(self, x):
        return self.norm(torch.relu(self.conv(x)))


class Res2(nn.Module):
    def __init__(self, c, scale, k, d):
        super().__init__()
        self.blocks = nn.ModuleList([TDNN(c // scale, c // scale, k, d) for _ in range(scale - 1)])
        self.scale = scale

    def forward(self, x):
        y = []
        for i, xi in enumerate(torch.chunk(x, self.scale, dim=1)):
            if i == 0:
                yi = xi
            elif i == 1:
                yi = self.blocks[0](xi)
            else:
                yi = self.blocks[i - 1](xi + yi)
            y.append(yi)
        return torch.cat(y, dim=1)


class SE(nn.Module):
    def __init__(self, c, s):
        super().__init__()
        self.conv1 = Conv1d(c, s, 1)
        self.conv2 = Conv1d(s, c, 1)

    def forward(self, x):
        s = x.mean(dim=2, keepdim=True)
        return torch.sigmoid(self.conv2(torch.relu(self.conv1(s)))) * x


class SERes2Net(nn.Module):
    def __init__(self, ic, c, scale, se, k, d):
        super().__init__()
        self.tdnn1 = TDNN(ic, c, 1, 1)
        self.res2net_block = Res2(c, scale, k, d)
        self.tdnn2 = TDNN(c, c, 1, 1)
        self.se_block = SE(c, se)
        self.shortcut = Conv1d(ic, c, 1) if ic != c else None

    def forward(self, x):
        r = self.shortcut(x) if self.shortcut is not None else x
        return self.se_block(self.tdnn2(self.res2net_block(self.tdnn1(x)))) + r


class ASP(nn.Module):
    def __init__(self, c, a, gc):
        super().__init__()
        self.gc = gc
        self.tdnn = TDNN(3 * c if gc else c, a, 1, 1)
        self.conv = Conv1d(a, c, 1)

    def forward(self, x):
        L = x.shape[-1]

        def stats(x, m, eps=1e-12):
            mean = (m * x).sum(2)
            std = torch.sqrt((m * (x - mean.unsqueeze(2)).pow(2)).sum(2).clamp(eps))
            return mean, std

        if self.gc:
            m = torch.ones(x.shape[0], 1, L) / L
            mean, std = stats(x, m)
            attn = torch.cat([x, mean.unsqueeze(2).repeat(1, 1, L),
                              std.unsqueeze(2).repeat(1, 1, L)], dim=1)
        else:
            attn = x
        attn = F.softmax(self.conv(torch.tanh(self.tdnn(attn))), dim=2)
        mean, std = stats(x, attn)
        return torch.cat((mean, std), dim=1).unsqueeze(2)


class ECAPA(nn.Module):
    def __init__(self, input_size, lin_neurons, channels, kernel_sizes, dilations,
                 attention_channels, res2net_scale, se_channels, global_context):
        super().__init__()
        self.blocks = nn.ModuleList([TDNN(input_size, channels[0], kernel_sizes[0], dilations[0])])
        for i in range(1, len(channels) - 1):
            self.blocks.append(SERes2Net(channels[i - 1], channels[i], res2net_scale, se_channels,
                                         kernel_sizes[i], dilations[i]))
        self.mfa = TDNN(channels[-2] * (len(channels) - 2), channels[-1], kernel_sizes[-1],
                        dilations[-1])
        self.asp = ASP(channels[-1], attention_channels, global_context)
        self.asp_bn = BN(channels[-1] * 2)
        self.fc = Conv1d(channels[-1] * 2, lin_neurons, 1)

    def forward(self, x):
        x = x.transpose(1, 2)
        xl = []
        for layer in self.blocks:
            x = layer(x)
            xl.append(x)
        x = self.mfa(torch.cat(xl[1:], dim=1))
        return self.fc(self.asp_bn(self.asp(x))).transpose(1, 2)


def build(cfg):
    kw = dict(input_size=cfg["in_channels"], lin_neurons=cfg["lin_neurons"],
              channels=cfg["channels"], kernel_sizes=cfg["kernel_sizes"],
              dilations=cfg["dilations"], attention_channels=cfg.get("attention_channels", 128),
              res2net_scale=cfg.get("res2net_scale", 8), se_channels=cfg.get("se_channels", 128),
              global_context=cfg.get("global_context", True))
    src = os.environ.get("SPEECHBRAIN_SRC")
    try:
        if src:
            torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler._LRScheduler
            pkg = types.ModuleType("speechbrain")
            pkg.__path__ = [src]
            sys.modules["speechbrain"] = pkg
        from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN
        return ECAPA_TDNN(**kw), "speechbrain ECAPA_TDNN"
    except Exception:
        return ECAPA(**kw), "plain-torch transcription"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=20)
    ap.add_argument("-T", type=int, default=300)
    ap.add_argument("--label", default="torch")
    a = ap.parse_args()
    torch.set_num_threads(a.t)
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    model, kind = build(cfg)
    sd = load_safetensors(os.path.join(a.dir, "embedding_model.safetensors"))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), \
        (missing, unexpected)
    model.eval()
    feats = np.fromfile(os.path.join(a.dir, "feats.f32"), dtype="<f4")
    x = torch.from_numpy(feats[:a.T * cfg["in_channels"]].reshape(1, a.T, cfg["in_channels"]).copy())
    ts = []
    with torch.inference_mode():
        for r in range(a.r + 1):
            t0 = time.perf_counter()
            emb = model(x).reshape(-1)
            if r:
                ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    print("%s (%s, torch %s) %d frames, %d threads: min %.2f ms, median %.2f ms; emb sum %.5f, "
          "emb[0..2] %.5f %.5f %.5f" % (a.label, kind, torch.__version__, a.T, a.t, ts[0],
                                        ts[len(ts) // 2], emb.sum().item(), emb[0].item(),
                                        emb[1].item(), emb[2].item()))
    print("RESULT %s %d %.3f %.3f" % (a.label, a.T, ts[0], ts[len(ts) // 2]))


if __name__ == "__main__":
    main()
