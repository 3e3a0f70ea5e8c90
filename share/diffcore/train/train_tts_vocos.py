#!/usr/bin/env python3
"""train_tts_vocos.py - tts-synth's default neural vocoder: a small Vocos
(vocos_model.py: 80 mels -> 256-wide ConvNeXt x 6 -> ISTFT head, n_fft
1024, hop 256, 2.8 M parameters) trained on the festival teacher's audio
at 22050 Hz.

  train_tts_vocos.py AUDIO.i16 AUDIO_LEN.npy OUT_DIR [--minutes=9]
      [--resume=CKPT] [--batch=16] [--gan-after=1000]

AUDIO.i16 is int16 22050 Hz audio, utterances concatenated (tts_prepare.py
writes it), AUDIO_LEN.npy their lengths; the last 8 utterances are held
out for validation.  Input mels are computed from the audio exactly as
lib/speech/tts_audio.h's HiFi-GAN variant does (tts_prepare.mel_and_mag).

Losses, after Vocos (Siuzdak 2023) and HiFi-GAN: L1 on the log-mel of
the output (weight 45), a multi-resolution log-STFT magnitude L1 (fft 512,
1024, 2048; weight 1), and from step --gan-after on, a multi-period
discriminator (periods 2 3 5 7 11) and a multi-resolution spectrogram
discriminator (fft 512, 1024, 2048) with hinge losses and feature matching
(weight 2).  AdamW (0.8, 0.9), lr 5e-4 warm-up 200 steps, cosine to 5% at
the time budget, segments of 16384 samples.  Writes OUT_DIR/vocos.pt
({'model': generator state_dict, 'disc': ..., 'step': ..}) every two
minutes and at the end; log in OUT_DIR/vocos_log.txt.
"""
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vocos_model import Vocos  # noqa: E402

SR, NFFT, HOP, NMELS = 22050, 1024, 256, 80
SEG = 16384
WN = nn.utils.weight_norm


class MelSpec(nn.Module):
    """HiFi-GAN log-mel on the GPU (tts_prepare.mel_and_mag, batched)."""

    def __init__(self):
        super().__init__()
        import torchaudio
        fb = torchaudio.functional.melscale_fbanks(NFFT // 2 + 1, 0.0, 8000.0, NMELS, SR,
                                                   norm="slaney", mel_scale="slaney")
        self.register_buffer("fb", fb)
        self.register_buffer("win", torch.hann_window(NFFT))

    def forward(self, y):                      # [B, N] -> [B, 80, N // HOP]
        pad = (NFFT - HOP) // 2
        yp = F.pad(y[:, None], (pad, pad), mode="reflect")[:, 0]
        s = torch.stft(yp, NFFT, HOP, NFFT, self.win, center=False, return_complex=True)
        mag = torch.sqrt(s.real ** 2 + s.imag ** 2 + 1e-9)
        return torch.log(torch.clamp((mag.transpose(1, 2) @ self.fb), min=1e-5)).transpose(1, 2)


class DiscP(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p
        ch = [1, 32, 128, 512, 1024, 1024]
        self.convs = nn.ModuleList([WN(nn.Conv2d(ch[i], ch[i + 1], (5, 1), (3 if i < 4 else 1, 1),
                                                 (2, 0))) for i in range(5)])
        self.post = WN(nn.Conv2d(1024, 1, (3, 1), 1, (1, 0)))

    def forward(self, x):
        B, T = x.shape
        if T % self.p:
            x = F.pad(x, (0, self.p - T % self.p), mode="reflect")
        x = x.view(B, 1, -1, self.p)
        fm = []
        for c in self.convs:
            x = F.leaky_relu(c(x), 0.1)
            fm.append(x)
        x = self.post(x)
        fm.append(x)
        return x.flatten(1), fm


class DiscR(nn.Module):
    def __init__(self, n_fft):
        super().__init__()
        self.n_fft = n_fft
        self.register_buffer("win", torch.hann_window(n_fft))
        self.convs = nn.ModuleList([
            WN(nn.Conv2d(1, 32, (3, 9), padding=(1, 4))),
            WN(nn.Conv2d(32, 32, (3, 9), stride=(1, 2), padding=(1, 4))),
            WN(nn.Conv2d(32, 32, (3, 9), stride=(1, 2), padding=(1, 4))),
            WN(nn.Conv2d(32, 32, (3, 9), stride=(1, 2), padding=(1, 4))),
            WN(nn.Conv2d(32, 32, (3, 3), padding=(1, 1)))])
        self.post = WN(nn.Conv2d(32, 1, (3, 3), padding=(1, 1)))

    def forward(self, x):
        s = torch.stft(x, self.n_fft, self.n_fft // 4, self.n_fft, self.win, return_complex=True)
        x = torch.log(torch.clamp(s.abs(), min=1e-5))[:, None].transpose(2, 3)   # [B,1,T,F]
        fm = []
        for c in self.convs:
            x = F.leaky_relu(c(x), 0.1)
            fm.append(x)
        x = self.post(x)
        fm.append(x)
        return x.flatten(1), fm


class Discs(nn.Module):
    def __init__(self):
        super().__init__()
        self.d = nn.ModuleList([DiscP(p) for p in (2, 3, 5, 7, 11)] +
                               [DiscR(n) for n in (512, 1024, 2048)])

    def forward(self, x):
        return [d(x) for d in self.d]


def stft_loss(y, g):
    loss = 0
    for n in (512, 1024, 2048):
        w = torch.hann_window(n, device=y.device)
        a = torch.stft(y, n, n // 4, n, w, return_complex=True).abs().clamp(min=1e-5).log()
        b = torch.stft(g, n, n // 4, n, w, return_complex=True).abs().clamp(min=1e-5).log()
        loss = loss + F.l1_loss(b, a)
    return loss / 3


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    audio_p, len_p, out = args
    minutes = float(opts.get("minutes", 9))
    bs = int(opts.get("batch", 16))
    gan_after = int(opts.get("gan-after", 1000))
    os.makedirs(out, exist_ok=True)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = np.fromfile(audio_p, np.int16).astype(np.float32) / 32768
    lens = np.load(len_p)
    starts = np.concatenate([[0], np.cumsum(lens)])
    nval = 8
    tr_end = int(starts[-nval - 1])
    xt = torch.from_numpy(x[:tr_end]).to(dev)
    val = [torch.from_numpy(x[starts[i]:starts[i + 1]]).to(dev) for i in range(len(lens) - nval, len(lens))]
    G, D, mel = Vocos().to(dev), Discs().to(dev), MelSpec().to(dev)
    og = torch.optim.AdamW(G.parameters(), 5e-4, betas=(0.8, 0.9))
    od = torch.optim.AdamW(D.parameters(), 5e-4, betas=(0.8, 0.9))
    step = 0
    if "resume" in opts:
        ck = torch.load(opts["resume"], map_location=dev)
        G.load_state_dict(ck["model"])
        D.load_state_dict(ck["disc"])
        og.load_state_dict(ck["og"])
        od.load_state_dict(ck["od"])
        step = ck["step"]
    step0 = step
    print("generator %d params, %.1f min of training audio" % (
        sum(p.numel() for p in G.parameters()), tr_end / SR / 60), flush=True)

    def save():
        torch.save({"model": G.state_dict(), "disc": D.state_dict(), "og": og.state_dict(),
                    "od": od.state_dict(), "step": step}, os.path.join(out, "vocos.pt.tmp"))
        os.replace(os.path.join(out, "vocos.pt.tmp"), os.path.join(out, "vocos.pt"))

    log = open(os.path.join(out, "vocos_log.txt"), "a")
    t0 = last = time.time()
    budget = minutes * 60
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        lr = 5e-4 * min(1.0, (step - step0 + 1) / 200) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for o in (og, od):
            for g in o.param_groups:
                g["lr"] = lr
        off = torch.from_numpy(rng.integers(0, tr_end - SEG, bs)).to(dev)
        y = xt[off[:, None] + torch.arange(SEG, device=dev)]
        y = y * torch.from_numpy(rng.uniform(0.5, 1.0, (bs, 1)).astype(np.float32)).to(dev)
        m = mel(y)
        g = G(m)
        gan = step >= gan_after
        if gan:
            od.zero_grad(set_to_none=True)
            ld = 0
            for (r, _), (f, _) in zip(D(y), D(g.detach())):
                ld = ld + F.relu(1 - r).mean() + F.relu(1 + f).mean()
            ld.backward()
            od.step()
        lm = F.l1_loss(mel(g), m)
        ls = stft_loss(y, g)
        loss = 45 * lm + ls
        lg = lf = torch.zeros((), device=dev)
        if gan:
            dr, df = D(y), D(g)
            for (f, fmf), (_, fmr) in zip(df, dr):
                lg = lg + F.relu(1 - f).mean()
                lf = lf + sum(F.l1_loss(a, b.detach()) for a, b in zip(fmf, fmr)) / len(fmf)
            loss = loss + lg + 2 * lf
        og.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(G.parameters(), 10.0)
        og.step()
        step += 1
        if step % 250 == 0:
            G.eval()
            with torch.no_grad():
                vm = np.mean([F.l1_loss(mel(G(mel(v[None]))), mel(v[None])).item() for v in val])
            G.train()
            msg = "step %d %.0fs lr %.2e mel %.4f stft %.4f gen %.3f fm %.3f | val mel L1 %.4f" % (
                step, time.time() - t0, lr, lm.item(), ls.item(), lg.item(), lf.item(), vm)
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if time.time() - last > 120:
            save()
            last = time.time()
    save()
    print("done: %d steps" % step, flush=True)


if __name__ == "__main__":
    main()
