#!/usr/bin/python3
"""ctrl_music_peer.py - timing peer for tests/bench/ctrl_music.sh.

Times `ctrl-extract melody|dynamics|rhythm` (whole process: decode, mixdown,
resample, analysis, output) against the same pipelines in numpy/scipy (the
librosa 0.10.2 ports of tests/golden/make_signal.py; librosa itself, with
numba, is not installed here; the ports' beat-tracker loops are plain
Python) and against aubio's C CLI for rhythm (`aubio tempo` + `aubio beat`,
GPL, run as a process only).  Peers read the same WAV with scipy.io.wavfile
inside the timed region.  Prints min-of-R wall times and ratios ours/peer.

usage: ctrl_music_peer.py B WAV RUNS THREADS
"""
import os
import resource
import subprocess
import sys
import time

import numpy as np
import scipy.io.wavfile
import scipy.signal as ss

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import make_signal as ms  # noqa: E402


def load(path, sr):
    rate, x = scipy.io.wavfile.read(path)
    x = x.astype(np.float32) / 32768.0
    if x.ndim == 2:
        x = x.mean(axis=1)
    if rate != sr:
        g = np.gcd(rate, sr)
        x = ss.resample_poly(x, sr // g, rate // g).astype(np.float32)
    return x


def melody(path):
    y = load(path, 44100).astype(np.float64)
    b, a = ss.butter(2, 261.2 / 22050, "high")
    y = ss.filtfilt(b, a, y).astype(np.float32)
    S = ms.stft_power(y, 2048, 256, 2)
    return np.argmax(S @ ms.chroma_fb(44100, 2048).T, axis=1)


def dynamics(path):
    y = load(path, 44100)
    S = ms.stft_power(y, 1024, 160, 1)
    M = S @ ms.mel_fb(44100, 1024, 64, 0.0, 8000.0).T
    e = (M.astype(np.float64) ** 2).sum(axis=1)
    db = np.maximum(10 * np.log10(np.maximum(1e-10, e) / max(1e-10, e.max())), -80)
    return ss.savgol_filter(db, 275, 1)


def rhythm(path):
    y = load(path, 22050)
    env = ms.onset_strength(y, 22050, 2048, 512, 128)
    bpm, _ = ms.tempo(env, 22050, 512)
    return ms.beat_track(env, 22050 / 512, bpm)


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def best_proc(argv, runs, env):
    """min wall and min CPU (user+sys) seconds of a process over `runs` runs"""
    wall, cpu = [], []
    for _ in range(runs):
        c0, t0 = child_cpu(), time.perf_counter()
        subprocess.run(argv, check=True, env=env)
        wall.append(time.perf_counter() - t0)
        cpu.append(child_cpu() - c0)
    return min(wall), min(cpu)


def best(fn, runs):
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    B, wav, runs, thr = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    ce = os.path.join(B, "bin", "ctrl-extract")
    env = dict(os.environ, DIFFCORE_NUM_THREADS=thr)
    out = os.path.join(os.path.dirname(wav), "out.dts")
    ours, cpu = {}, {}
    for c in ("melody", "dynamics", "rhythm"):
        ours[c], cpu[c] = best_proc([ce, c, "-t", thr, wav, "-o", out], runs, env)
    peers = {"melody": best(lambda: melody(wav), max(1, runs // 2)),
             "dynamics": best(lambda: dynamics(wav), max(1, runs // 2)),
             "rhythm": best(lambda: rhythm(wav), 1)}
    have_aubio = subprocess.run(["sh", "-c", "command -v aubio"], capture_output=True).returncode == 0
    aub = None
    if have_aubio:
        aub = best(lambda: (subprocess.run(["aubio", "tempo", "-i", wav], check=True, capture_output=True),
                            subprocess.run(["aubio", "beat", "-i", wav], check=True, capture_output=True)), runs)
    print("control\tours_ms\tours_cpu_ms\tnumpy_port_ms\tours/numpy\taubio_ms\tours/aubio")
    for c in ("melody", "dynamics", "rhythm"):
        a = ("%.1f\t%.3f" % (1e3 * aub, ours[c] / aub)) if (c == "rhythm" and aub) else "-\t-"
        print("%s\t%.1f\t%.1f\t%.1f\t%.3f\t%s" % (c, 1e3 * ours[c], 1e3 * cpu[c], 1e3 * peers[c],
                                                   ours[c] / peers[c], a))
    tot, ptot, ctot = sum(ours.values()), sum(peers.values()), sum(cpu.values())
    print("total\t%.1f\t%.1f\t%.1f\t%.3f\t-\t-" % (1e3 * tot, 1e3 * ctot, 1e3 * ptot, tot / ptot))
    print("# 30 s of 44.1 kHz stereo audio, %s thread(s), min of %d runs (ours: whole processes incl. "
          "decoding and output; cpu = user+sys of all threads); goal: all three under 200 ms wall: %s "
          "(%.0f ms; on a shared machine compare the CPU column)" %
          (thr, runs, "met" if tot < 0.2 else "NOT met", 1e3 * tot))


if __name__ == "__main__":
    main()
