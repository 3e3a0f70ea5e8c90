#!/usr/bin/python3
"""make_fbank.py - golden features for lib/speech/fbank.c (tests/unit/test_fbank.c).

Run from the repository root:  /usr/bin/python3 tests/golden/make_fbank.py
Needs torch 1.13 + torchaudio 0.13.1 (Debian 12) and the SpeechBrain source
tree in .ref/sb (fetched by hand, not committed; imported without installing).

References:
  * torchaudio.compliance.kaldi.fbank (Kaldi compute-fbank-feats);
  * speechbrain.lobes.features.Fbank(n_mels), forward with deltas=False and
    context=False: compute_STFT -> spectral_magnitude -> compute_fbanks
    (called one by one: Fbank.forward's fwd_default_precision decorator needs
    torch.amp.custom_fwd, which torch 1.13 lacks).

Each reference runs twice: with torch's default dtype set to float64 and a
float64 waveform, so that every tensor the reference builds (windows, mel
banks, linspaces) is float64 and the result is the reference's own math
without float32 rounding ("exact", what lib/speech computes in double), and
as users run it in float32 ("f32", kept for a few cases to report how far
float32 torch itself is from the exact result).

Inputs (tests/golden/fbank/input_<name>.npy, int16; the Kaldi front end sees
them at int16 scale, SpeechBrain's as x / 32768):
  so762    tests/data/spk/so762_000010011.wav (speechocean762, CC BY 4.0)
  noise16k 1.2 s at 16 kHz: tones, white noise, a digital-zero gap, a quiet
           (+-3 LSB) stretch and a DC step
  tone8k   1 s at 8 kHz: a chirp plus noise
(the WAV is not repeated in the goldens; the test reads it.)

Case files tests/golden/fbank/<case>.npy hold, back to back:
  opts      float64 [20]: input id (0 so762, 1 noise16k, 2 tone8k), kind (0 Kaldi,
            1 SpeechBrain), then for Kaldi: sample_frequency, frame_length,
            frame_shift, preemphasis_coefficient, remove_dc_offset, window
            (0 povey 1 hamming 2 hanning 3 rectangular 4 blackman), blackman_coeff,
            round_to_power_of_two, snip_edges, num_mel_bins, low_freq, high_freq,
            energy_floor, use_energy, raw_energy, use_log_fbank, use_power,
            subtract_mean; for SpeechBrain: sample_rate, n_mels, then zeros
  exact     float32 [frames][cols]
  f32       float32 [frames][cols] (only where listed in F32_CASES)
"""
import math
import os
import sys
import types
import wave

import numpy as np
import torch
import torchaudio.compliance.kaldi as kaldi

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, "tests", "golden", "fbank")
WINDOWS = ["povey", "hamming", "hanning", "rectangular", "blackman"]


def speechbrain():
    torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler._LRScheduler
    pkg = types.ModuleType("speechbrain")
    pkg.__path__ = [os.path.join(TOP, ".ref", "sb", "speechbrain")]
    sys.modules["speechbrain"] = pkg
    from speechbrain.lobes.features import Fbank
    from speechbrain.processing.features import spectral_magnitude
    return Fbank, spectral_magnitude


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").copy(), w.getframerate()


def inputs():
    rng = np.random.RandomState(762)
    so, sr = read_wav(os.path.join(TOP, "tests", "data", "spk", "so762_000010011.wav"))
    assert sr == 16000
    n = 19200
    t = np.arange(n) / 16000.0
    x = 3000 * np.sin(2 * np.pi * 440 * t) + 1200 * np.sin(2 * np.pi * 1500 * t + 0.3) \
        + 400 * np.sin(2 * np.pi * 5000 * t) + 300 * rng.standard_normal(n)
    x[6000:9000] = 0                                  # digital zero
    x[9000:11000] = rng.randint(-3, 4, 2000)          # very quiet
    x[15000:] += 2500                                 # DC step
    noise = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    m = 8000
    t = np.arange(m) / 8000.0
    y = 6000 * np.sin(2 * np.pi * (100 * t + 900 * t * t)) + 500 * rng.standard_normal(m)
    tone = np.clip(np.round(y), -32768, 32767).astype(np.int16)
    return [so, noise, tone]


KALDI_KEYS = ["sample_frequency", "frame_length", "frame_shift", "preemphasis_coefficient",
              "remove_dc_offset", "window_type", "blackman_coeff", "round_to_power_of_two",
              "snip_edges", "num_mel_bins", "low_freq", "high_freq", "energy_floor", "use_energy",
              "raw_energy", "use_log_fbank", "use_power", "subtract_mean"]
KALDI_DEFAULTS = dict(sample_frequency=16000.0, frame_length=25.0, frame_shift=10.0,
                      preemphasis_coefficient=0.97, remove_dc_offset=True, window_type="povey",
                      blackman_coeff=0.42, round_to_power_of_two=True, snip_edges=True,
                      num_mel_bins=23, low_freq=20.0, high_freq=0.0, energy_floor=1.0,
                      use_energy=False, raw_energy=True, use_log_fbank=True, use_power=True,
                      subtract_mean=False)

# name: (input id, options); dither is 0 throughout (torchaudio's default)
KALDI_CASES = [
    ("k_so762_default", 0, dict(num_mel_bins=80)),
    ("k_so762_nosnip", 0, dict(num_mel_bins=80, snip_edges=False)),
    ("k_so762_energy", 0, dict(num_mel_bins=80, use_energy=True)),
    ("k_so762_hamming_cmn", 0, dict(num_mel_bins=80, window_type="hamming", subtract_mean=True)),
    ("k_noise_hanning", 1, dict(num_mel_bins=40, window_type="hanning")),
    ("k_noise_rect", 1, dict(num_mel_bins=40, window_type="rectangular", raw_energy=False,
                             use_energy=True, energy_floor=0.0)),
    ("k_noise_blackman", 1, dict(num_mel_bins=30, window_type="blackman", blackman_coeff=0.4,
                                 preemphasis_coefficient=0.0, remove_dc_offset=False)),
    ("k_noise_nopow2", 1, dict(num_mel_bins=64, round_to_power_of_two=False, low_freq=60.0,
                               high_freq=-400.0, use_power=False)),
    ("k_noise_linear", 1, dict(num_mel_bins=24, use_log_fbank=False, snip_edges=False)),
    ("k_noise_prime", 1, dict(num_mel_bins=32, round_to_power_of_two=False, frame_length=12.625,
                              frame_shift=7.3, use_energy=True)),   # 202-sample frames (101 prime), shift 116
    ("k_noise_wideshift", 1, dict(num_mel_bins=23, frame_length=10.0, frame_shift=25.0,
                                  snip_edges=False, use_energy=True)),
    ("k_tone8k", 2, dict(sample_frequency=8000.0, high_freq=-200.0, snip_edges=False)),
    ("k_tone8k_odd", 2, dict(sample_frequency=8000.0, frame_length=30.0, frame_shift=12.5,
                             num_mel_bins=15, low_freq=100.0, high_freq=3000.0)),
]
# name: (input id, sample rate, n_mels)
SB_CASES = [
    ("sb_so762", 0, 16000, 80),
    ("sb_noise", 1, 16000, 40),
    ("sb_tone8k", 2, 8000, 40),
]
F32_CASES = {"k_so762_default", "k_so762_nosnip", "sb_so762"}
RATES = [16000, 16000, 8000]


def kaldi_fbank(x, opts, dtype):
    w = torch.tensor(x.astype(np.float64), dtype=dtype)[None]
    return kaldi.fbank(w, dither=0.0, **opts)


def sb_fbank(Fbank, spectral_magnitude, x, sr, n_mels, dtype):
    fb = Fbank(sample_rate=sr, n_mels=n_mels)      # built under the current default dtype
    w = torch.tensor(x.astype(np.float64) / 32768.0, dtype=dtype)[None]
    with torch.no_grad():
        S = fb.compute_STFT(w)
        return fb.compute_fbanks(spectral_magnitude(S))[0]


def in_dtype(dtype, fn):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return fn().detach().numpy()
    finally:
        torch.set_default_dtype(old)


def save(name, *arrays):
    with open(os.path.join(OUT, name + ".npy"), "wb") as f:
        for a in arrays:
            np.save(f, a)


def main():
    os.makedirs(OUT, exist_ok=True)
    ins = inputs()
    save("input_noise16k", ins[1])
    save("input_tone8k", ins[2])
    for name, inp, over in KALDI_CASES:
        o = dict(KALDI_DEFAULTS, **over)
        vec = [inp, 0] + [WINDOWS.index(o[k]) if k == "window_type" else float(o[k]) for k in KALDI_KEYS]
        opts = np.array(vec, np.float64)
        ex = in_dtype(torch.float64, lambda: kaldi_fbank(ins[inp], o, torch.float64))
        arrs = [opts, ex.astype(np.float32)]
        msg = ""
        if name in F32_CASES:
            f = in_dtype(torch.float32, lambda: kaldi_fbank(ins[inp], o, torch.float32))
            arrs.append(f.astype(np.float32))
            msg = "  f32 vs exact %.3g" % np.abs(f.astype(np.float64) - ex).max()
        save(name, *arrs)
        print("%-22s %s%s" % (name, ex.shape, msg))
    Fbank, spectral_magnitude = speechbrain()
    for name, inp, sr, n_mels in SB_CASES:
        opts = np.zeros(20, np.float64)
        opts[:4] = [inp, 1, sr, n_mels]
        ex = in_dtype(torch.float64, lambda: sb_fbank(Fbank, spectral_magnitude, ins[inp], sr, n_mels,
                                                      torch.float64))
        arrs = [opts, ex.astype(np.float32)]
        msg = ""
        if name in F32_CASES:
            f = in_dtype(torch.float32, lambda: sb_fbank(Fbank, spectral_magnitude, ins[inp], sr,
                                                         n_mels, torch.float32))
            arrs.append(f.astype(np.float32))
            msg = "  f32 vs exact %.3g" % np.abs(f.astype(np.float64) - ex).max()
        save(name, *arrs)
        print("%-22s %s%s" % (name, ex.shape, msg))


if __name__ == "__main__":
    main()
