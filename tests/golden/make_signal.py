#!/usr/bin/python3
"""make_signal.py - golden vectors for lib/signal (tests/unit/test_signal.c).

Run from the repository root:  /usr/bin/python3 tests/golden/make_signal.py
Needs numpy and scipy (Debian 12: 1.24 / 1.10).  librosa is not installed
here, so the librosa 0.10.2 functions lib/signal ports are re-written below
in numpy from the librosa source (filters.mel, filters.chroma, stft,
onset.onset_strength, feature.tempogram/tempo, beat.beat_track with its
numba helpers), keeping librosa's float32 intermediates where it has them.

Each case is one file tests/golden/signal/<case>.npy holding several
arrays saved back to back (np.save into one file; dc_npy_read reads them
in order).  The order per case is listed in CASES below and mirrored in
test_signal.c.  Audio inputs are stored as int16 (x / 32768 gives the float
signal) to keep the files small.
"""
import os

import numpy as np
import scipy.signal as ss

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "signal")
TINY32 = np.finfo(np.float32).tiny


# ---- librosa 0.10.2 ports ---------------------------------------------------------------

def hann(n):
    return ss.get_window("hann", n, fftbins=True)


def stft_power(y, n_fft, hop, power):
    """|librosa.stft(y, n_fft, hop, center=True, pad_mode='constant')|**power"""
    y = np.asarray(y, np.float32)
    yp = np.pad(y, n_fft // 2, mode="constant")
    T = 1 + (len(yp) - n_fft) // hop
    fr = np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop][:T]
    w = hann(n_fft)
    X = np.fft.rfft(fr * w, axis=1).astype(np.complex64)      # numpy FFT in double, stored c64
    return (np.abs(X) ** power).astype(np.float32)             # [T][F]


def hz_to_mel(f):
    f = np.asanyarray(f, dtype=float)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=float)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_fb(sr, n_fft, n_mels, fmin, fmax):
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def chroma_fb(sr, n_fft, n_chroma=12, tuning=0.0, ctroct=5.0, octwidth=2):
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    n_chroma2 = np.round(float(n_chroma) / 2)
    D = np.remainder(D + n_chroma2 + 10 * n_chroma, n_chroma) - n_chroma2
    wts = np.exp(-0.5 * (2 * D / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    nrm = np.sqrt((wts ** 2).sum(axis=0, keepdims=True))
    wts = wts / np.where(nrm < np.finfo(float).tiny, 1.0, nrm)
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - ctroct) / octwidth) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    return np.ascontiguousarray(wts[:, :int(1 + n_fft / 2)], dtype=np.float32)


def onset_strength(y, sr, n_fft, hop, n_mels):
    S = stft_power(y, n_fft, hop, 2).T                          # [F][T]
    M = np.einsum("ft,mf->mt", S, mel_fb(sr, n_fft, n_mels, 0.0, sr / 2.0)).astype(np.float32)
    D = 10.0 * np.log10(np.maximum(np.float32(1e-10), M))
    D = np.maximum(D, D.max() - 80.0).astype(np.float32)
    env = np.maximum(0.0, D[:, 1:] - D[:, :-1])
    env = np.median(env, axis=0).astype(np.float32)
    pad = 1 + n_fft // (2 * hop)
    env = np.pad(env, (pad, 0), mode="constant")[:S.shape[1]]
    return env.astype(np.float32)


def tempo(env, sr, hop, start_bpm=120.0, std_bpm=1.0, ac_size=8.0, max_tempo=320.0):
    win = int(np.floor(int(ac_size * sr) // hop))
    n = len(env)
    w = hann(win)
    e = np.pad(env.astype(np.float32), win // 2, mode="linear_ramp", end_values=[0, 0])
    fr = np.lib.stride_tricks.sliding_window_view(e, win)[:n].astype(np.float64) * w
    npad = 2 * win - 1
    F = np.fft.rfft(fr, n=npad, axis=1)
    ac = np.fft.irfft(np.abs(F) ** 2, n=npad, axis=1)[:, :win]
    m = np.abs(ac).max(axis=1, keepdims=True)
    ac = ac / np.where(m < TINY32, 1.0, m)
    tg = ac.mean(axis=0)
    bpms = np.zeros(win)
    bpms[0] = np.inf
    bpms[1:] = 60.0 * sr / (hop * np.arange(1.0, win))
    with np.errstate(divide="ignore", invalid="ignore"):
        logprior = -0.5 * ((np.log2(bpms) - np.log2(start_bpm)) / std_bpm) ** 2
    max_idx = int(np.argmax(bpms < max_tempo))
    logprior[:max_idx] = -np.inf
    best = int(np.argmax(np.log1p(1e6 * tg) + logprior))
    return bpms[best], tg.astype(np.float32)


def localmax(x):
    xp = np.pad(x, 1, mode="edge")
    return (x > xp[:-2]) & (x >= xp[2:])


def beat_track(env, frame_rate, bpm, tightness=100.0, trim=True):
    env = env.astype(np.float32)
    if not env.any():
        return np.zeros(0, np.int64)
    fpb = float(np.round(frame_rate * 60.0 / bpm))
    on = env / (env.std(ddof=1) + TINY32)
    window = np.exp(-0.5 * (np.arange(-fpb, fpb + 1) * 32.0 / fpb) ** 2)
    K = len(window)
    N = len(on)
    ls = np.zeros(N, np.float32)
    for i in range(N):                                         # librosa's loop (skips env[0] term)
        acc = np.float32(0)
        for k in range(max(0, i + K // 2 - N + 1), min(i + K // 2, K)):
            acc = np.float32(float(acc) + window[k] * float(on[i + K // 2 - k]))
        ls[i] = acc
    thresh = 0.01 * float(ls.max())
    cum = np.zeros(N, np.float32)
    back = np.zeros(N, np.int64)
    first = True
    dmin = int(np.round(fpb / 2))
    for i in range(N):
        best, loc_b = -np.inf, -1
        for loc in range(i - dmin, int(i - 2 * fpb - 1), -1):
            if loc < 0:
                break
            s = float(cum[loc]) - tightness * (np.log(i - loc) - np.log(fpb)) ** 2
            if s > best:
                best, loc_b = s, loc
        cum[i] = np.float32(float(ls[i]) + best) if loc_b >= 0 else ls[i]
        if first and float(ls[i]) < thresh:
            back[i] = -1
        else:
            back[i] = loc_b
            first = False
    mask = localmax(cum)
    thr = np.float32(0.5) * np.float32(np.median(cum[mask])) if mask.any() else np.float32(0)
    tail = N - 1
    for i in range(N - 1, -1, -1):
        if mask[i] and cum[i] >= thr:
            tail = i
            break
    beats = np.zeros(N, bool)
    n = tail
    while n >= 0:
        beats[n] = True
        n = back[n]
    w = np.hanning(5)
    smooth = np.convolve(ls[beats], w)[len(w) // 2:len(ls) + len(w) // 2]
    threshold = 0.5 * ((smooth ** 2).mean() ** 0.5) if trim else 0.0
    n = 0
    while n < N and ls[n] <= threshold:
        beats[n] = False
        n += 1
    n = N - 1
    while n >= 0 and ls[n] <= threshold:
        beats[n] = False
        n -= 1
    return np.flatnonzero(beats).astype(np.int64)


# ---- cases --------------------------------------------------------------------------

def save(name, *arrays):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".npy"), "wb") as f:
        for a in arrays:
            np.save(f, a)


def i16(x):
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def f32_of(q):
    return (q.astype(np.float32) / np.float32(32768.0)).astype(np.float32)


def tone_mix(rng, sr, dur, notes, bpm, clicks=True):
    """A melody of harmonic tones (midi numbers, one per beat) plus clicks."""
    n = int(sr * dur)
    t = np.arange(n) / sr
    y = np.zeros(n)
    spb = 60.0 / bpm
    for j, m in enumerate(notes):
        f0 = 440.0 * 2 ** ((m - 69) / 12)
        a, b = int(j * spb * sr), min(n, int((j + 1) * spb * sr))
        if a >= n:
            break
        tt = t[a:b] - t[a]
        env = np.exp(-3 * tt)
        for h in range(1, 5):
            if f0 * h < sr / 2:
                y[a:b] += 0.25 / h * np.sin(2 * np.pi * f0 * h * tt) * env
        if clicks:
            k = min(b - a, int(0.01 * sr))
            y[a:a + k] += 0.5 * rng.standard_normal(k) * np.exp(-np.arange(k) / (0.002 * sr))
    y += 0.003 * rng.standard_normal(n)
    return y * 0.7


def main():
    rng = np.random.default_rng(20261128)

    # windows + STFT: x (int16), power-2 STFT 512/128, magnitude STFT 256/100
    x = i16(0.3 * rng.standard_normal(3001))
    xf = f32_of(x)
    save("stft", x, hann(512).astype(np.float32), stft_power(xf, 512, 128, 2), stft_power(xf, 256, 100, 1))

    # filterbanks
    save("mel_fb", mel_fb(16000, 512, 40, 0.0, 8000.0), mel_fb(44100, 1024, 64, 0.0, 8000.0))
    save("chroma_fb", chroma_fb(44100, 2048), chroma_fb(8000, 512, tuning=0.3))

    # butterworth + filtfilt (261.2 Hz high-pass at 44.1 kHz, 1 kHz low-pass at 8 kHz), and short input
    y = i16(0.4 * rng.standard_normal(2000))
    yf = f32_of(y).astype(np.float64)
    bh, ah = ss.butter(2, 261.2 / (44100 / 2), "high")
    bl, al = ss.butter(2, 1000 / (8000 / 2), "low")
    save("filtfilt", y, np.concatenate([bh, ah, bl, al]),
         ss.filtfilt(bh, ah, yf).astype(np.float32), ss.filtfilt(bl, al, yf).astype(np.float32),
         ss.filtfilt(bh, ah, yf[:40]).astype(np.float32))

    # savitzky-golay: (51, 1) and (11, 3) on a noisy ramp, (279, 1) on 600 samples
    s = (np.linspace(-40, 0, 600) + 3 * rng.standard_normal(600)).astype(np.float32)
    s64 = s.astype(np.float64)
    save("savgol", s, ss.savgol_filter(s64, 51, 1).astype(np.float32),
         ss.savgol_filter(s64, 11, 3).astype(np.float32), ss.savgol_filter(s64, 279, 1).astype(np.float32))

    # resample_poly: 1/2 (44.1k -> 22.05k), 3/2, 147/160 (48k -> 44.1k)
    r = i16(0.3 * np.sin(np.arange(1500) * 0.05) + 0.1 * rng.standard_normal(1500))
    rf = f32_of(r).astype(np.float64)
    save("resample", r, ss.resample_poly(rf, 1, 2).astype(np.float32),
         ss.resample_poly(rf, 3, 2).astype(np.float32), ss.resample_poly(rf, 147, 160).astype(np.float32))

    # onset strength of 2 s of tones + clicks at 22050 Hz (n_fft 2048, hop 512, 128 mels)
    sr = 22050
    a = i16(tone_mix(rng, sr, 2.0, [60, 64, 67, 72, 67], 150))
    env = onset_strength(f32_of(a), sr, 2048, 512, 128)
    save("onset", a, env)

    # tempo + beats on onset envelopes (43.07 fps): clean 100 bpm pulses, 132 bpm with noise,
    # a random envelope, and the onset envelope of 12 s of audio at 8 kHz (hop 128)
    fps = 22050 / 512
    cases = []
    n = 1300
    t = np.arange(n) / fps
    p1 = np.exp(-0.5 * ((t % 0.6) / 0.02) ** 2) * (1 + (np.arange(n) % 7 == 0))
    p2 = np.exp(-0.5 * (((t + 0.13) % (60 / 132)) / 0.025) ** 2) + 0.3 * rng.random(n)
    p2[:80] = 0
    p3 = rng.random(n) ** 4
    for e in (p1, p2, p3):
        e = e.astype(np.float32)
        bpm, tg = tempo(e, 22050, 512)
        beats = beat_track(e, fps, bpm)
        cases.append((e, np.array([bpm]), tg, beats))
    sr8 = 8000
    a8 = i16(tone_mix(rng, sr8, 12.0, [62, 65, 69, 74] * 12, 110))
    e8 = onset_strength(f32_of(a8), sr8, 512, 128, 64)
    bpm8, tg8 = tempo(e8, sr8, 128)
    cases.append((e8, np.array([bpm8]), tg8, beat_track(e8, sr8 / 128, bpm8)))
    for i, (e, b, tg, bt) in enumerate(cases):
        print("beats case %d: bpm %.3f, %d beats" % (i, b[0], len(bt)))
        save("beats%d" % i, e, b, tg, bt)
    save("audio8k", a8)

    # melody + dynamics end to end on the 8 kHz audio (first 3 s)
    a3 = a8[:3 * sr8]
    y3 = f32_of(a3).astype(np.float64)
    b, aa = ss.butter(2, 261.2 / (sr8 / 2), "high")
    hp = ss.filtfilt(b, aa, y3).astype(np.float32)
    S = stft_power(hp, 512, 128, 2).T
    C = chroma_fb(sr8, 512) @ S
    pc = np.argmax(C, axis=0).astype(np.uint8)
    Sm = stft_power(f32_of(a3), 256, 64, 1).T
    M = np.einsum("ft,mf->mt", Sm, mel_fb(sr8, 256, 32, 0.0, 4000.0)).astype(np.float32)
    e = (M.astype(np.float64) ** 2).sum(axis=0)
    db = 10 * np.log10(np.maximum(1e-10, e)) - 10 * np.log10(max(1e-10, e.max()))
    db = np.maximum(db, -80.0)
    save("controls", pc, db.astype(np.float32), ss.savgol_filter(db, 125, 1).astype(np.float32))


if __name__ == "__main__":
    main()
