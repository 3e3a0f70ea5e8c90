#!/usr/bin/env python3
"""tts_prepare.py - training tensors for tts-synth's default voice from the
festival teacher corpus (tts_teacher_data.sh).

  tts_prepare.py TEACHER_DIR OUTDIR [--tts-synth=build/bin/tts-synth]
                 [--vocoder-minutes=30]

For every utterance of TEACHER_DIR/sentences.txt:

* phones: tts-synth --phonemes --festival on the sentence (our front end,
  festival's post-lexical rules, so the run-time phones are the trained
  ones), mapped onto the voice's symbols (SYMBOLS below: ARPAbet with
  stress, "@sp" for pauses, ming024's spelling).  The utterance is kept
  only if our phones, stress removed, are festival's Segment relation
  phone for phone (pauses included): the teacher's timings then belong to
  exactly the symbols the model sees; the pauses festival's phrase-break
  model inserts (our front end pauses at punctuation only) are added to
  our sequence.
* durations: festival's phone end times (exact, 5 ms) rounded to mel
  frames at 22050 Hz / hop 256, the last one stretched to the mel length.
* mel: HiFi-GAN's log-mel (lib/speech/tts_audio.h with hifigan=1) of the
  teacher's 32 kHz WAV resampled to 22050 Hz (torchaudio, Kaiser sinc),
  quantised to 8 bits over [MEL_LO, MEL_HI] (a step of 0.055 in ln units).
* pitch: F0 in Hz by YIN (threshold 0.1, 60-500 Hz) on the same frames,
  unvoiced frames linearly interpolated, averaged over each phone's
  frames (FastSpeech 2's phoneme-level pitch, not normalised, so that
  --pitch 1.2 asks for 1.2x the F0).
* energy: the L2 norm of each frame's STFT magnitude, averaged per phone.

Written: OUTDIR/meta.npz (ids, durations, pitch, energy as flat arrays
with per-utterance counts, names, MEL_LO/HI, symbols), OUTDIR/mel.u8
([sum of frames][80] uint8), and for the vocoder OUTDIR/audio.i16 (the
first --vocoder-minutes of 22050 Hz audio, int16, utterances
concatenated, with offsets in meta.npz as audio_len).  Needs torch,
torchaudio, numpy.
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torchaudio

SR, NFFT, HOP, NMELS, FMIN, FMAX = 22050, 1024, 256, 80, 0.0, 8000.0
MEL_LO, MEL_HI = float(np.log(1e-5)), 3.0

VOWELS = "AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split()
CONSONANTS = "B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH".split()
SYMBOLS = ["_", "@sp"] + ["@%s%d" % (v, s) for v in VOWELS for s in range(3)] + \
          ["@" + c for c in CONSONANTS]
SYM = {s: i for i, s in enumerate(SYMBOLS)}


def phone_symbols(p):
    """Radio-set phone with stress digit (ours) -> list of symbol ids, as
    cmd/tts-synth/voice.c maps them."""
    if p == "pau":
        return [SYM["@sp"]]
    st = p[-1] if p[-1].isdigit() else None
    base = p[:-1] if st else p
    st = st or "0"
    two = {"el": ("AH", "L"), "em": ("AH", "M"), "en": ("AH", "N")}
    one = {"ax": "AH", "axr": "ER", "hv": "HH", "nx": "N", "dx": "T"}
    if base in two:
        a, b = two[base]
        return [SYM["@%s%s" % (a, st)], SYM["@" + b]]
    b = one.get(base, base).upper()
    if b in VOWELS:
        return [SYM["@%s%s" % (b, min(int(st), 2))]]
    return [SYM["@" + b]]


_mel_basis = None


def mel_and_mag(y):
    """HiFi-GAN log-mel [T][80] and magnitude [T][513] of y (float tensor)."""
    global _mel_basis
    if _mel_basis is None:
        _mel_basis = torchaudio.functional.melscale_fbanks(
            NFFT // 2 + 1, FMIN, FMAX, NMELS, SR, norm="slaney", mel_scale="slaney")
    pad = (NFFT - HOP) // 2
    yp = torch.nn.functional.pad(y[None, None], (pad, pad), mode="reflect")[0, 0]
    spec = torch.stft(yp, NFFT, HOP, NFFT, torch.hann_window(NFFT), center=False,
                      return_complex=True)
    mag = torch.sqrt(spec.real ** 2 + spec.imag ** 2 + 1e-9).T          # [T][513]
    mel = torch.log(torch.clamp(mag @ _mel_basis, min=1e-5))
    return mel, mag


def yin(y, frames, fmin=60.0, fmax=500.0, thr=0.1):
    """F0 (Hz, 0 = unvoiced) of `frames` frames of 1024 samples centred on
    t*HOP + HOP/2 (the mel frames), cumulative-mean-normalised difference."""
    W = NFFT
    pad = (NFFT - HOP) // 2
    yp = torch.nn.functional.pad(y[None, None], (pad, pad + W), mode="reflect")[0, 0]
    fr = yp.unfold(0, W, HOP)[:frames].double()                         # [T][W]
    tmax = int(SR / fmin)
    n = 2 * W
    F = torch.fft.rfft(fr, n)
    acf = torch.fft.irfft(F * F.conj(), n)[:, :tmax + 1]                # r(tau)
    e = torch.cumsum(torch.nn.functional.pad(fr * fr, (1, 0)), 1)      # e[k] = sum x[:k]
    taus = torch.arange(tmax + 1)
    # d(tau) = sum_{j<W-tau} (x_j - x_{j+tau})^2
    d = e[:, W - taus] + (e[:, W:W + 1] - e[:, taus]) - 2 * acf
    d[:, 0] = 0
    cm = torch.cumsum(d[:, 1:], 1) / torch.arange(1, tmax + 1)
    dn = torch.ones_like(d)
    dn[:, 1:] = d[:, 1:] / torch.clamp(cm, min=1e-12)
    tmin = int(SR / fmax)
    seg = dn[:, tmin:tmax]
    below = seg < thr
    # first dip below the threshold, then walk to its local minimum
    f0 = np.zeros(frames)
    segn = seg.numpy()
    first = np.where(below.any(1).numpy(), below.float().argmax(1).numpy(), -1)
    for t in range(frames):
        k = first[t]
        if k < 0:
            continue
        while k + 1 < segn.shape[1] and segn[t, k + 1] < segn[t, k]:
            k += 1
        tau = k + tmin
        if 1 <= k < segn.shape[1] - 1:
            a, b, c = segn[t, k - 1], segn[t, k], segn[t, k + 1]
            den = a - 2 * b + c
            if den > 0:
                tau += 0.5 * (a - c) / den
        f0[t] = SR / tau
    return f0


def align(ours, fest):
    """Our phones with the pauses festival's phrase-break model added (it
    breaks long phrases without punctuation; our front end does not), or
    None when the phones differ otherwise."""
    out, i = [], 0
    for f in fest:
        if i < len(ours) and ours[i].rstrip("012") == f:
            out.append(ours[i])
            i += 1
        elif f == "pau":
            out.append("pau")
        else:
            return None
    return out if i == len(ours) else None


def phone_average(v, dur, interpolate_zero):
    if interpolate_zero:
        nz = np.where(v > 0)[0]
        if len(nz) == 0:
            return np.zeros(len(dur))
        v = np.interp(np.arange(len(v)), nz, v[nz])
    out, pos = np.zeros(len(dur)), 0
    for i, d in enumerate(dur):
        out[i] = v[pos:pos + d].mean() if d > 0 else 0.0
        pos += d
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    if len(args) != 2:
        sys.exit(__doc__)
    teacher, out = args
    synth = opts.get("tts-synth", "build/bin/tts-synth")
    voc_minutes = float(opts.get("vocoder-minutes", "30"))
    torch.set_num_threads(2)
    os.makedirs(out, exist_ok=True)
    names, texts = [], []
    for line in open(os.path.join(teacher, "sentences.txt"), encoding="utf-8"):
        a, b = line.rstrip("\n").split("\t", 1)
        names.append(a)
        texts.append(b)
    ph = subprocess.run([synth, "--phonemes", "--festival"], input="\n".join(texts) + "\n",
                        capture_output=True, text=True, check=True).stdout.split("\n")
    keep, ids, durs, pitch, energy, nph, nfr, alen = [], [], [], [], [], [], [], []
    melf = open(os.path.join(out, "mel.u8"), "wb")
    audf = open(os.path.join(out, "audio.i16"), "wb")
    voc_left = int(voc_minutes * 60 * SR)
    skipped = 0
    for k, name in enumerate(names):
        ours = ph[k].split()
        seg = [l.split("\t") for l in open(os.path.join(teacher, "seg", name + ".txt"))
               if l.strip()]
        fest = [s[0] for s in seg]
        ours = align(ours, fest)
        if ours is None:
            skipped += 1
            continue
        w, sr = torchaudio.load(os.path.join(teacher, "wav", name + ".wav"))
        y = torchaudio.functional.resample(w[0], sr, SR)
        mel, mag = mel_and_mag(y)
        T = mel.shape[0]
        ends = np.array([float(s[2]) for s in seg])
        b = np.minimum(np.round(ends * SR / HOP).astype(int), T)
        b[-1] = T
        d_ph = np.diff(np.concatenate([[0], b]))
        if (d_ph < 0).any():
            skipped += 1
            continue
        # expand phones to symbols: a two-symbol phone (el -> AH L) splits its frames
        sym, dsym = [], []
        for p, d in zip(ours, d_ph):
            s = phone_symbols(p)
            if len(s) == 1:
                sym += s
                dsym.append(d)
            else:
                sym += s
                dsym += [d - d // 2, d // 2]
        dsym = np.array(dsym)
        f0 = yin(y, T)
        en = torch.linalg.norm(mag, dim=1).numpy()
        keep.append(name)
        ids += sym
        durs += list(dsym)
        pitch += list(phone_average(f0, dsym, True))
        energy += list(phone_average(en, dsym, False))
        nph.append(len(sym))
        nfr.append(T)
        q = np.clip(np.round((mel.numpy() - MEL_LO) / (MEL_HI - MEL_LO) * 255), 0, 255)
        melf.write(q.astype(np.uint8).tobytes())
        if voc_left > 0:
            a = np.clip(np.round(y.numpy() * 32767), -32768, 32767).astype(np.int16)
            audf.write(a.tobytes())
            alen.append(len(a))
            voc_left -= len(a)
        if len(keep) % 200 == 0:
            print("%d/%d kept (%d skipped)" % (len(keep), k + 1, skipped), flush=True)
    melf.close()
    audf.close()
    np.savez(os.path.join(out, "meta.npz"), names=np.array(keep), ids=np.array(ids, np.int16),
             durations=np.array(durs, np.int16), pitch=np.array(pitch, np.float32),
             energy=np.array(energy, np.float32), n_phones=np.array(nph, np.int32),
             n_frames=np.array(nfr, np.int32), audio_len=np.array(alen, np.int64),
             mel_lo=MEL_LO, mel_hi=MEL_HI, symbols=np.array(SYMBOLS))
    print("kept %d of %d utterances (%d skipped: phones differ from festival's beyond pauses), %d frames "
          "(%.2f h), vocoder audio %.1f min" % (len(keep), len(names), skipped, sum(nfr),
                                                sum(nfr) * HOP / SR / 3600, sum(alen) / SR / 60))


if __name__ == "__main__":
    main()
