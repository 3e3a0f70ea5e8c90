#!/bin/sh
# ctrl_music.sh - benchmark of the music conditions of ctrl-extract(1):
# melody, dynamics and rhythm on 30 s of 44.1 kHz stereo audio (the Sonic
# Pi loops concatenated with sox when installed, else a synthetic mix),
# against the numpy/scipy ports of the same pipelines and aubio's CLI for
# rhythm, measured in the same run (tests/bench/ctrl_music_peer.py).
# Prints min-of-runs times and ratios ours/peer; asserts nothing.
# Environment: B (build dir), BENCH_RUNS (5), BENCH_THREADS (2), PYTHON.
B=${B:-build}
R=${BENCH_RUNS:-5}
T=${BENCH_THREADS:-2}
PY=${PYTHON:-/usr/bin/python3}
[ -x "$B/bin/ctrl-extract" ] || { echo "ctrl_music: $B/bin/ctrl-extract not built" >&2; exit 1; }
"$PY" -c 'import numpy, scipy' 2>/dev/null || { echo "# ctrl_music: no numpy/scipy for $PY, skipped"; exit 0; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
L=/usr/share/sonic-pi/samples
if command -v sox >/dev/null && [ -f "$L/loop_amen_full.flac" ]; then
	sox "$L/loop_amen_full.flac" "$L/loop_garzul.flac" "$L/loop_mika.flac" "$L/loop_safari.flac" \
		-r 44100 -c 2 -b 16 "$dir/a.wav" trim 0 30 || exit 1
else
	"$PY" - "$dir/a.wav" <<'PYEOF' || exit 1
import sys, numpy as np, scipy.io.wavfile
sr = 44100; t = np.arange(30 * sr) / sr; rng = np.random.default_rng(1)
x = 0.3 * np.sin(2 * np.pi * 440 * 2 ** (np.floor(t * 2) % 12 / 12) * t)
x += 0.3 * rng.standard_normal(len(t)) * np.exp(-((t % 0.5) / 0.01))
s = (np.clip(np.stack([x, x], 1), -1, 1) * 32767).astype(np.int16)
scipy.io.wavfile.write(sys.argv[1], sr, s)
PYEOF
fi
"$PY" tests/bench/ctrl_music_peer.py "$B" "$dir/a.wav" "$R" "$T"
