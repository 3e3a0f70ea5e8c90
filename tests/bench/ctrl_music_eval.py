#!/usr/bin/python3
"""ctrl_music_eval.py - acceptance figures for ctrl-extract's music controls.

Run by tests/bench/ctrl_music_eval.sh (from the repository root, B=build):

  1. Writes MIDI files with a tiny writer below (a monophonic melody with
     known notes at a known tempo, plus a drum kit on channel 10), renders
     them with fluidsynth (FluidR3_GM.sf2, 44.1 kHz), and measures
       - melody accuracy: fraction of frames inside a melody note whose
         `ctrl-extract melody` pitch class equals the note's pitch class;
       - beat F1: mir_eval.beat.f_measure(reference beats, our beats, 0.07),
         reference = every quarter note of the MIDI file, no trimming;
     and the same beat F1 for `aubio beat` (GPL, an oracle run as a CLI).
  2. On the Sonic Pi loops (/usr/share/sonic-pi/samples/loop_*.flac, CC0),
     each repeated to at least 20 s as Sonic Pi loops them, reports the tempo
     of `ctrl-extract rhythm` and of `aubio tempo` against the tempo implied
     by the loop length (4, 8, 16 or 32 beats, whichever gives 80-160 bpm),
     with the relative error and whether it is within 4% (or within 4% of
     twice / half / 3/2 / 2/3 of it: the usual octave errors), and beat F1
     against the implied beat grid.
Prints TSV tables and a summary; asserts nothing (exit 0 unless a tool is
missing or fails).
"""
import glob
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import mir_eval

B = os.environ.get("B", "build")
CE = os.path.join(B, "bin", "ctrl-extract")
SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


# ---- tiny MIDI writer ---------------------------------------------------------------

def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def write_midi(path, bpm, tracks, ppq=480):
    """tracks: list of (channel, program, [(start_beat, dur_beats, pitch, vel)])."""
    def chunk(tag, data):
        return tag + struct.pack(">I", len(data)) + data
    trks = []
    tempo = bytes([0xFF, 0x51, 0x03]) + struct.pack(">I", int(round(60e6 / bpm)))[1:]
    trks.append(chunk(b"MTrk", b"\x00" + tempo + b"\x00\xFF\x2F\x00"))
    for ch, prog, notes in tracks:
        ev = [(0, 0, bytes([0xC0 | ch, prog]))]
        for s, d, p, v in notes:
            a, b = int(round(s * ppq)), int(round((s + d) * ppq))
            ev.append((a, 2, bytes([0x90 | ch, p, v])))
            ev.append((b, 1, bytes([0x80 | ch, p, 0])))
        ev.sort(key=lambda e: (e[0], e[1]))
        data, t = b"", 0
        for tick, _, msg in ev:
            data += vlq(tick - t) + msg
            t = tick
        trks.append(chunk(b"MTrk", data + b"\x00\xFF\x2F\x00"))
    with open(path, "wb") as f:
        f.write(chunk(b"MThd", struct.pack(">HHH", 1, len(trks), ppq)) + b"".join(trks))


def song(seed, bpm, program, n_beats, step, lo):
    """A monophonic melody (C-major notes in MIDI [lo, lo+24), `step` beats
    per note) plus drums (kick/snare on the beats, hi-hat on eighths)."""
    rng = np.random.default_rng(seed)
    pitches = [p for p in range(lo, lo + 24) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
    notes, b = [], 0.0
    while b < n_beats - 1e-9:
        p = pitches[int(rng.integers(0, len(pitches)))]
        notes.append((b, step * 0.95, p, 90))
        b += step
    drums = []
    for k in range(n_beats):
        drums.append((k, 0.1, 36 if k % 2 == 0 else 38, 100))     # kick / snare
        drums.append((k, 0.1, 42, 70))                              # closed hi-hat
        drums.append((k + 0.5, 0.1, 42, 50))
    return [(0, program, notes), (9, 0, drums)], notes


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def ours_beats(wav):
    out = run([CE, "rhythm", "--csv", wav])
    rows = [l.split(",") for l in out.strip().split("\n")[1:]]
    return np.array([float(r[0]) for r in rows if r[2] == "1"])


def ours_tempo(wav, tmp):
    dts = os.path.join(tmp, "r.dts")
    run([CE, "rhythm", wav, "-o", dts])
    info = run([os.path.join(B, "bin", "tensor-tool"), "info", dts])
    return float(info.split("tempo=")[1].split()[0])


def aubio_beats(wav):
    out = run(["aubio", "beat", "-i", wav])
    return np.array([float(l) for l in out.split()])


def aubio_tempo(wav):
    out = run(["aubio", "tempo", "-i", wav])
    return float(out.strip().split("\n")[-1].split()[0])


def f1(ref, est):
    return mir_eval.beat.f_measure(np.asarray(ref, float), np.asarray(est, float), 0.07)


def melody_accuracy(wav, notes, bpm):
    out = run([CE, "melody", "--csv", wav])
    rows = [l.split(",") for l in out.strip().split("\n")[1:]]
    t = np.array([float(r[0]) for r in rows])
    pc = np.array([int(r[1]) for r in rows])
    ref = np.full(len(t), -1)
    spb = 60.0 / bpm
    for s, d, p, _ in notes:
        ref[(t >= s * spb) & (t < (s + d) * spb)] = p % 12
    m = ref >= 0
    return float((pc[m] == ref[m]).mean()), int(m.sum())


def acc1(est, ref, tol=0.04):
    return abs(est - ref) <= tol * ref


def acc2(est, ref, tol=0.04):
    """Gouyon's Accuracy 2: within 4% of 1, 2, 3, 1/2 or 1/3 times the tempo."""
    return any(abs(est - ref * f) <= tol * ref * f for f in (1, 2, 3, 0.5, 1 / 3))


def main():
    tmp = tempfile.mkdtemp(prefix="ctrl_music_eval.")
    print("# rendered MIDI (fluidsynth -ni -F out.wav -r 44100 FluidR3_GM.sf2 in.mid, default reverb"
          " and chorus): melody + drums, about 24 s each")
    print("file\tbpm\tinstrument\tregister\tstep\tmelody_acc\tframes\tbeatF1\taubio_beatF1\ttempo\taubio_tempo")
    # (seed, bpm, GM program, name, beats per note, lowest melody note); the main set keeps the
    # melody above the 261.2 Hz high-pass (G4 = 67 and up); the "low" rows show what the
    # definition does to fundamentals at middle C.
    main_set = [(1, 100, 0, "piano", 1.0, 67), (2, 120, 73, "flute", 0.5, 67),
                (3, 90, 40, "violin", 1.0, 67), (4, 128, 80, "square", 0.5, 67),
                (5, 140, 56, "trumpet", 1.0, 67), (6, 110, 0, "piano", 0.5, 67),
                (7, 75, 73, "flute", 1.0, 67)]
    low_set = [(8, 100, 0, "piano", 1.0, 60), (9, 120, 56, "trumpet", 1.0, 60),
               (10, 120, 80, "square", 1.0, 60)]
    accs, f1s, af1s = [], [], []
    for seed, bpm, prog, name, step, lo in main_set + low_set:
        n_beats = int(24 * bpm / 60)
        tracks, notes = song(seed, bpm, prog, n_beats, step, lo)
        mid = os.path.join(tmp, "song%d.mid" % seed)
        wav = os.path.join(tmp, "song%d.wav" % seed)
        write_midi(mid, bpm, tracks)
        run(["fluidsynth", "-ni", "-F", wav, "-r", "44100", SF2, mid])
        acc, nfr = melody_accuracy(wav, notes, bpm)
        ref = np.arange(n_beats) * 60.0 / bpm
        est = ours_beats(wav)
        fo, fa = f1(ref, est), f1(ref, aubio_beats(wav))
        tempo, atempo = ours_tempo(wav, tmp), aubio_tempo(wav)
        if lo >= 67:
            accs.append(acc); f1s.append(fo); af1s.append(fa)
        print("song%d\t%d\t%s\t%s\t%g\t%.4f\t%d\t%.4f\t%.4f\t%.2f\t%.2f" %
              (seed, bpm, name, "%d-%d%s" % (lo, lo + 23, "" if lo >= 67 else " (low)"), step,
               acc, nfr, fo, fa, tempo, atempo))
    print("# main set (%d files): melody accuracy mean %.4f min %.4f; beat F1 mean %.4f min %.4f; "
          "aubio beat F1 mean %.4f min %.4f" %
          (len(accs), np.mean(accs), np.min(accs), np.mean(f1s), np.min(f1s), np.mean(af1s), np.min(af1s)))
    print("\n# Sonic Pi loops (looped to >= 20 s); implied tempo from the loop length")
    print("loop\tseconds\tbeats\timplied_bpm\tours_bpm\tours_err%\tours_acc1\tours_acc2\t"
          "aubio_bpm\taubio_err%\taubio_acc1\taubio_acc2\tbeatF1\taubio_beatF1")
    r = {k: [] for k in ("a1", "a2", "b1", "b2", "f", "af", "e", "ae")}
    yn = lambda b: "yes" if b else "no"
    for path in sorted(glob.glob("/usr/share/sonic-pi/samples/loop_*.flac")):
        name = os.path.basename(path)[:-5]
        d = float(run(["soxi", "-D", path]))
        if d < 1.0:
            continue
        beats = next((k for k in (4, 8, 16, 32) if 80 <= 60 * k / d < 160), None)
        if beats is None:
            continue
        implied = 60.0 * beats / d
        reps = int(np.ceil(20.0 / d))
        wav = os.path.join(tmp, name + ".wav")
        subprocess.run(["sox", path, "-b", "16", wav, "repeat", str(reps - 1)], check=True)
        total = d * reps
        tempo, atempo = ours_tempo(wav, tmp), aubio_tempo(wav)
        ref = np.arange(0, total - 1e-6, d / beats)
        fo, fa = f1(ref, ours_beats(wav)), f1(ref, aubio_beats(wav))
        r["a1"].append(acc1(tempo, implied)); r["a2"].append(acc2(tempo, implied))
        r["b1"].append(acc1(atempo, implied)); r["b2"].append(acc2(atempo, implied))
        r["f"].append(fo); r["af"].append(fa)
        r["e"].append(abs(tempo / implied - 1)); r["ae"].append(abs(atempo / implied - 1))
        print("%s\t%.3f\t%d\t%.2f\t%.2f\t%+.1f\t%s\t%s\t%.2f\t%+.1f\t%s\t%s\t%.4f\t%.4f" %
              (name, d, beats, implied, tempo, 100 * (tempo / implied - 1), yn(r["a1"][-1]),
               yn(r["a2"][-1]), atempo, 100 * (atempo / implied - 1), yn(r["b1"][-1]),
               yn(r["b2"][-1]), fo, fa))
    n = len(r["f"])
    print("# loops (%d): tempo Acc1 (4%%) ours %d, aubio %d; Acc2 (x1,2,3,1/2,1/3) ours %d, aubio %d; "
          "median |tempo error| ours %.1f%%, aubio %.1f%%; mean beat F1 ours %.4f, aubio %.4f" %
          (n, sum(r["a1"]), sum(r["b1"]), sum(r["a2"]), sum(r["b2"]), 100 * np.median(r["e"]),
           100 * np.median(r["ae"]), np.mean(r["f"]), np.mean(r["af"])))
    print("# note: the implied tempo assumes 4/4 loops of 4-32 beats; loops that are not "
          "metrical (drones, textures) have no true tempo")


if __name__ == "__main__":
    sys.exit(main())
