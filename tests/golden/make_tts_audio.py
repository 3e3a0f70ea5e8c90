#!/usr/bin/python3
"""make_tts_audio.py - golden vectors for lib/speech/tts_audio.c (tests/unit/test_tts_audio.c).

Run from the repository root:  /usr/bin/python3 tests/golden/make_tts_audio.py
Needs numpy, torch 1.13 and torchaudio 0.13.1 (Debian 12 python3).

References, transcribed here because their packages are not installed:
  * ming024/FastSpeech2 audio/stft.py (commit d4e79eb): STFT.transform (reflect pad
    n_fft/2, conv1d with the float32 windowed DFT basis, |X| = sqrt(re^2+im^2)) and
    TacotronSTFT.mel_spectrogram (mel_basis @ |X|, log(clamp(., 1e-5)), energy =
    L2 norm of |X| per frame); run on the CPU instead of .cuda().
  * HiFi-GAN meldataset.mel_spectrogram: reflect pad (n_fft-hop)/2, torch.stft
    center=False with torch.hann_window(win), sqrt(re^2+im^2+1e-9), mel, log(clamp).
  * librosa.filters.mel (Slaney, norm='slaney'), float32, as make_signal.py.
torchaudio.functional.griffinlim is called directly (power=1, rand_init=False).

Each case is one .npy file in tests/golden/tts_audio/ holding several arrays saved
back to back (read in order by dc_npy_read); audio inputs are int16 (x/32768).
  mel.npy:   x int16 [n]; ming024 log-mel f32 [T][80]; energy f32 [T];
             HiFi-GAN log-mel f32 [T'][80]; the two log-mels again run in float64
             (f64 [T][80], f64 [T'][80]; the float32 references differ from them by
             up to ~6e-4 in near-silent bins); clamp(pinv(M) exp(the f32 ming024
             log-mel), 0) f32 [T][513] (dc_mel_to_linear with 0 NNLS iterations)
  gl.npy:    x int16 [n]; magnitude f32 [T][513] (|torch.stft| of x, center reflect);
             params f64 [n_iter, momentum]; waveform f32 (torch float32) for
             momentum 0.99; waveform for momentum 0; both after n_iter iterations;
             waveform f64 (torch float64) for momentum 0.99
The input is 0.4 s of tests/data/spk/so762_000010011.wav (16 kHz) taken as if it were
22.05 kHz audio (the reference functions do not care about the rate).
"""
import os
import wave

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tts_audio")
TOP = os.path.dirname(os.path.dirname(HERE))


def hz_to_mel(f):
    f = np.asanyarray(f, dtype=float)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, f / f_sp)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=float)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def librosa_mel_fn(sr, n_fft, n_mels, fmin, fmax):
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


def hann_periodic(n):  # scipy get_window('hann', n, fftbins=True)
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


class STFT:  # ming024 audio/stft.py STFT (forward only)
    def __init__(self, filter_length, hop_length, win_length, dtype=torch.float32):
        self.filter_length, self.hop_length = filter_length, hop_length
        fourier_basis = np.fft.fft(np.eye(filter_length))
        cutoff = int(filter_length / 2 + 1)
        fourier_basis = np.vstack([np.real(fourier_basis[:cutoff, :]), np.imag(fourier_basis[:cutoff, :])])
        forward_basis = torch.FloatTensor(fourier_basis[:, None, :])
        w = hann_periodic(win_length)
        lpad = (filter_length - win_length) // 2   # librosa pad_center
        fft_window = np.zeros(filter_length)
        fft_window[lpad:lpad + win_length] = w
        forward_basis *= torch.from_numpy(fft_window).float()
        self.forward_basis = forward_basis.float()
        if dtype == torch.float64:  # the float64 reference: basis and window kept in double
            self.forward_basis = torch.from_numpy(fourier_basis[:, None, :] * fft_window)

    def transform(self, input_data):
        num_batches, num_samples = input_data.shape
        input_data = input_data.view(num_batches, 1, num_samples)
        input_data = F.pad(input_data.unsqueeze(1), (int(self.filter_length / 2), int(self.filter_length / 2), 0, 0),
                           mode="reflect").squeeze(1)
        ft = F.conv1d(input_data, self.forward_basis, stride=self.hop_length, padding=0)
        cutoff = int(self.filter_length / 2 + 1)
        re, im = ft[:, :cutoff, :], ft[:, cutoff:, :]
        return torch.sqrt(re ** 2 + im ** 2)


def tacotron_mel(y, sr=22050, n_fft=1024, hop=256, win=1024, n_mels=80, fmin=0, fmax=8000):
    stft = STFT(n_fft, hop, win, y.dtype)
    mel_basis = torch.from_numpy(librosa_mel_fn(sr, n_fft, n_mels, fmin, fmax)).to(y.dtype)
    mag = stft.transform(y)
    mel = torch.log(torch.clamp(torch.matmul(mel_basis, mag), min=1e-5))
    energy = torch.norm(mag, dim=1)
    return mel, energy


def hifigan_mel(y, sr=22050, n_fft=1024, hop=256, win=1024, n_mels=80, fmin=0, fmax=8000):
    mel_basis = torch.from_numpy(librosa_mel_fn(sr, n_fft, n_mels, fmin, fmax)).to(y.dtype)
    hann_window = torch.hann_window(win, dtype=y.dtype)
    y = F.pad(y.unsqueeze(1), (int((n_fft - hop) / 2), int((n_fft - hop) / 2)), mode="reflect").squeeze(1)
    spec = torch.stft(y, n_fft, hop_length=hop, win_length=win, window=hann_window, center=False,
                      pad_mode="reflect", normalized=False, onesided=True, return_complex=False)
    spec = torch.sqrt(spec.pow(2).sum(-1) + 1e-9)
    spec = torch.matmul(mel_basis, spec)
    return torch.log(torch.clamp(spec, min=1e-5))


def pinv_init(logmel):
    """clamp(pinv(M) @ exp(logmel), 0): librosa nnls's starting point, float64"""
    M = librosa_mel_fn(22050, 1024, 80, 0, 8000).astype(np.float64)
    S = np.linalg.pinv(M) @ np.exp(logmel.astype(np.float64)).T
    return np.ascontiguousarray(np.maximum(S, 0).T, dtype=np.float32)


def read_wav16(path):
    with wave.open(path, "rb") as f:
        return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").copy()


def save(name, arrays):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".npy"), "wb") as f:
        for a in arrays:
            np.save(f, a)


def main():
    x16 = read_wav16(os.path.join(TOP, "tests/data/spk/so762_000010011.wav"))
    # mel: 0.6 s from 0.5 s in (speech)
    xm = x16[8000:8000 + 13230]
    y = torch.from_numpy(xm.astype(np.float32) / 32768.0).unsqueeze(0)
    mel, energy = tacotron_mel(y)
    hmel = hifigan_mel(y)
    mel64, _ = tacotron_mel(y.double())
    mel32 = mel[0].T.contiguous().numpy().astype(np.float32)
    hmel64 = hifigan_mel(y.double())
    save("mel", [xm, mel[0].T.contiguous().numpy().astype(np.float32), energy[0].numpy().astype(np.float32),
                 hmel[0].T.contiguous().numpy().astype(np.float32),
                 mel64[0].T.contiguous().numpy(), hmel64[0].T.contiguous().numpy(), pinv_init(mel32)])
    # Griffin-Lim: 0.3 s (26 frames)
    xg = x16[10000:10000 + 6615]
    yg = torch.from_numpy(xg.astype(np.float32) / 32768.0)
    w = torch.hann_window(1024)
    spec = torch.stft(yg, 1024, 256, 1024, w, center=True, pad_mode="reflect", return_complex=True).abs()
    n_iter = 32
    outs = []
    for mom in (0.99, 0.0):
        outs.append(torchaudio.functional.griffinlim(spec, w, 1024, 256, 1024, 1.0, n_iter, mom, None, False).numpy())
    o64 = torchaudio.functional.griffinlim(spec.double(), w.double(), 1024, 256, 1024, 1.0, n_iter, 0.99, None,
                                           False).numpy()
    save("gl", [xg, spec.T.contiguous().numpy().astype(np.float32), np.array([n_iter, 0.99]),
                outs[0].astype(np.float32), outs[1].astype(np.float32), o64.astype(np.float64)])
    print("mel", mel.shape, hmel.shape, "gl", spec.shape, outs[0].shape)


if __name__ == "__main__":
    main()
