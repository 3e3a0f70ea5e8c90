#!/usr/bin/python3
# train_spk_ecapa.py - trains spk-embed's default speaker model
# (share/diffcore/models/spk-ecapa): an ECAPA-TDNN with SpeechBrain's
# architecture and state_dict keys (speechbrain.lobes.models.ECAPA_TDNN,
# re-written here in plain torch so that the recipe needs only Debian's
# python3-torch and python3-torchaudio), on the Kaldi fbank front end that
# spk-embed computes (torchaudio.compliance.kaldi.fbank, 80 bins, int16
# scale, per-utterance mean normalisation).
#
# Data: speechocean762 (github jimbozhang/speechocean762, CC BY 4.0): 16 kHz
# read English of 250 Mandarin-L1 speakers, half of them children.  Training
# uses only the 125 speakers of its train/ list; the EER printed at the end
# (and by tests/bench/spk_eer.sh through the C tool) is on the 125 disjoint
# speakers of test/ with every pair of their 2,500 utterances as a trial.
#
# Recipe: random 2 s crops; on the waveform random gain, additive noise at
# 5-40 dB SNR (white or another training utterance: babble), speed
# perturbation 0.9/1.0/1.1 treated as three times the speakers (Kaldi and
# WeSpeaker do the same); on the fbank SpecAugment-style masks (2 bands of
# up to 8 bins, 2 spans of up to 20 frames).  Loss: additive angular margin
# softmax (margin 0.2, scale 30, as SpeechBrain's VoxCeleb recipe), Adam
# 1e-3 with a one-cycle cosine schedule, batch 64.  The model with the best
# test EER of the periodic evaluations is kept (the test speakers choose the
# checkpoint: say so when quoting the number).
#
# Usage: DATA=/path/to/speechocean762 OUT=outdir SECONDS=1800 C=256 \
#        /usr/bin/python3 share/diffcore/train/train_spk_ecapa.py
# Writes OUT/config.json + OUT/embedding_model.safetensors (F16) in
# spk-embed's model layout (lib/speech/spk.h), and OUT/log.txt.
import json
import math
import os
import random
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio
from scipy.io import wavfile

DATA = os.environ.get("DATA", ".ref/so762")
OUT = os.environ.get("OUT", "out_spk")
SECONDS = float(os.environ.get("SECONDS", "1800"))
C = int(os.environ.get("C", "256"))
LIN = int(os.environ.get("LIN", "192"))
EVAL_EVERY = float(os.environ.get("EVAL_EVERY", "300"))
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
torch.manual_seed(0)
random.seed(0)
np.random.seed(0)
os.makedirs(OUT, exist_ok=True)
LOG = open(os.path.join(OUT, "log.txt"), "a")


def log(*a):
    s = " ".join(str(x) for x in a)
    print(s, flush=True)
    LOG.write(s + "\n")
    LOG.flush()


# ---- ECAPA-TDNN, SpeechBrain's modules and key names: ecapa_model.py -------------

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ecapa_model import ECAPA  # noqa: E402


class AAMSoftmax(nn.Module):
    def __init__(self, lin, n, margin=0.2, scale=30.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n, lin) * 0.01)
        self.m, self.s = margin, scale

    def forward(self, emb, y):
        cos = F.linear(F.normalize(emb), F.normalize(self.weight)).clamp(-1 + 1e-7, 1 - 1e-7)
        sin = torch.sqrt(1 - cos * cos)
        phi = cos * math.cos(self.m) - sin * math.sin(self.m)
        phi = torch.where(cos > math.cos(math.pi - self.m), phi, cos - math.sin(math.pi - self.m) * self.m)
        onehot = F.one_hot(y, cos.shape[1]).bool()
        return F.cross_entropy(self.s * torch.where(onehot, phi, cos), y)


# ---- data ---------------------------------------------------------------------

def read_list(split):
    wav, spk = {}, {}
    for line in open(os.path.join(DATA, split, "wav.scp")):
        u, p = line.split()
        wav[u] = os.path.join(DATA, p) if not os.path.isabs(p) else p
    for line in open(os.path.join(DATA, split, "utt2spk")):
        u, s = line.split()
        spk[u] = s
    utts = sorted(wav)
    return utts, wav, spk


def load(path):
    sr, x = wavfile.read(path)
    assert sr == 16000, path
    if x.ndim > 1:
        x = x.mean(1)
    return x.astype(np.float32)         # int16 scale, as Kaldi


def fbank(x):
    f = torchaudio.compliance.kaldi.fbank(torch.as_tensor(x)[None], num_mel_bins=80, dither=0.0,
                                          sample_frequency=16000)
    return f - f.mean(0, keepdim=True)


tr_utts, tr_wav, tr_spk = read_list("train")
te_utts, te_wav, te_spk = read_list("test")
# the wav.scp paths are relative to the data folder (WAVE/SPEAKERnnnn/...)
for d in (tr_wav, te_wav):
    for u in d:
        if not os.path.exists(d[u]):
            d[u] = os.path.join(DATA, "WAVE", "SPEAKER" + u[:4], u + ".WAV")
speakers = sorted(set(tr_spk.values()))
sid = {s: i for i, s in enumerate(speakers)}
t0 = time.time()
train = [(load(tr_wav[u]), sid[tr_spk[u]]) for u in tr_utts]
test = [load(te_wav[u]) for u in te_utts]
test_lab = np.array([te_spk[u] for u in te_utts])
log(f"{len(train)} train utterances of {len(speakers)} speakers, {len(test)} test utterances of "
    f"{len(set(test_lab))} speakers, loaded in {time.time() - t0:.0f} s; "
    f"train {sum(len(x) for x, _ in train) / 16000 / 3600:.2f} h")
NS = len(speakers)
SPEEDS = (1.0, 0.9, 1.1)
CROP = 32000


def speed(x, f):
    if f == 1.0:
        return x
    # resample by 1/f: the waveform plays f times as fast (pitch shifts too,
    # which is what makes a "new speaker")
    return torchaudio.functional.resample(torch.as_tensor(x), int(16000 * f), 16000).numpy()


def crop(x, n):
    if len(x) <= n:
        return np.pad(x, (0, n - len(x)), mode="wrap")
    s = random.randint(0, len(x) - n)
    return x[s:s + n]


def batch(B):
    feats, ys = [], []
    for _ in range(B):
        x, y = random.choice(train)
        k = random.randrange(3)
        x = speed(crop(x, int(CROP * SPEEDS[k]) + 400), SPEEDS[k])[:CROP]
        x = crop(x, CROP) * 10 ** random.uniform(-0.5, 0.3)
        r = random.random()
        if r < 0.6:
            p = np.mean(x * x) + 1e-3
            snr = random.uniform(5, 40)
            if r < 0.3:
                n = np.random.randn(CROP).astype(np.float32)
            else:
                n = crop(random.choice(train)[0], CROP)
            x = x + n * math.sqrt(p / (np.mean(n * n) + 1e-3) / 10 ** (snr / 10))
        f = fbank(np.clip(x, -32768, 32767))
        for _ in range(2):
            w = random.randint(0, 8)
            s = random.randint(0, 80 - w)
            f[:, s:s + w] = 0
            w = random.randint(0, 20)
            s = random.randint(0, f.shape[0] - w)
            f[s:s + w] = 0
        feats.append(f)
        ys.append(y + NS * k)
    return torch.stack(feats), torch.tensor(ys)


# ---- evaluation: every pair of test utterances -----------------------------------

def eer(scores, labels):
    o = np.argsort(-scores, kind="stable")
    lab = labels[o]
    tp = np.cumsum(lab)
    fp = np.cumsum(~lab)
    P, N = lab.sum(), (~lab).sum()
    fnr = 1 - tp / P
    fpr = fp / N
    i = np.argmin(np.abs(fnr - fpr))
    return 100 * (fnr[i] + fpr[i]) / 2


TEST_FEATS = [fbank(x) for x in test]
iu = np.triu_indices(len(test), 1)
same = (test_lab[:, None] == test_lab[None, :])[iu]


@torch.no_grad()
def evaluate(model):
    model.eval()
    e = torch.stack([model(f[None])[0, 0] for f in TEST_FEATS])
    model.train()
    e = F.normalize(e).numpy()
    return eer((e @ e.T)[iu], same)


# ---- baseline: MFCC mean/std statistics -------------------------------------------

def baseline():
    v = []
    for x in test:
        m = torchaudio.compliance.kaldi.mfcc(torch.as_tensor(x)[None], num_ceps=20, dither=0.0)
        v.append(torch.cat([m.mean(0), m.std(0)]).numpy())
    v = np.array(v)
    v = (v - v.mean(0)) / (v.std(0) + 1e-8)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return eer((v @ v.T)[iu], same)


log(f"baseline (20 MFCC mean+std, standardised, cosine): EER {baseline():.2f}% on "
    f"{same.sum()} target / {(~same).sum()} non-target trials")

channels = [C, C, C, C, 3 * C]
cfg = dict(fin=80, channels=channels, kernels=[5, 3, 3, 3, 1], dilations=[1, 2, 3, 4, 1],
           att=max(64, C // 4), scale=8, se=max(64, C // 4), lin=LIN)
model = ECAPA(input_size=cfg["fin"], lin_neurons=cfg["lin"], channels=channels,
              kernel_sizes=cfg["kernels"], dilations=cfg["dilations"],
              attention_channels=cfg["att"], res2net_scale=cfg["scale"], se_channels=cfg["se"],
              global_context=True)
head = AAMSoftmax(LIN, 3 * NS)
nparam = sum(p.numel() for p in model.parameters())
log(f"ECAPA C={C}: {nparam} parameters")
opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-3, weight_decay=2e-5)


def save(path):
    os.makedirs(path, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    hdr, blobs, off = {}, [], 0
    for k in sorted(sd):
        a = sd[k].detach().to(torch.float16).contiguous().numpy().tobytes()
        hdr[k] = {"dtype": "F16", "shape": list(sd[k].shape), "data_offsets": [off, off + len(a)]}
        off += len(a)
        blobs.append(a)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(path, "embedding_model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    json.dump({"arch": "ecapa", "in_channels": 80, "lin_neurons": LIN, "channels": channels,
               "kernel_sizes": cfg["kernels"], "dilations": cfg["dilations"],
               "attention_channels": cfg["att"], "res2net_scale": cfg["scale"],
               "se_channels": cfg["se"], "global_context": True,
               "frontend": {"type": "kaldi", "num_mel_bins": 80, "sample_rate": 16000, "cmn": True,
                            "dither": 0}},
              open(os.path.join(path, "config.json"), "w"), indent=1)


best, step, t0, last_eval = 1e9, 0, time.time(), time.time()
while True:
    el = time.time() - t0
    if el > SECONDS:
        break
    lr = 1e-3 * (0.5 * (1 + math.cos(math.pi * el / SECONDS))) if el > 0.05 * SECONDS else 1e-3 * el / (0.05 * SECONDS) + 1e-5
    for g in opt.param_groups:
        g["lr"] = lr
    x, y = batch(64)
    loss = head(model(x)[:, 0], y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    step += 1
    if step % 50 == 0:
        log(f"step {step} loss {loss.item():.3f} lr {lr:.2e} ({el:.0f} s)")
    if time.time() - last_eval > EVAL_EVERY:
        e = evaluate(model)
        log(f"step {step}: test EER {e:.2f}%")
        if e < best:
            best = e
            save(OUT)
        last_eval = time.time()
e = evaluate(model)
log(f"final step {step}: test EER {e:.2f}% (best {min(best, e):.2f}%)")
if e <= best:
    save(OUT)
