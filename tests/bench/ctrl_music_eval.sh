#!/bin/sh
# ctrl_music_eval.sh - acceptance figures for the music conditions of
# ctrl-extract(1), not part of make check: melody accuracy and beat F1 on
# MIDI rendered with fluidsynth (exact notes and beats), tempo and beat F1
# on the Sonic Pi loops, each against aubio (GPL, run as a CLI oracle only)
# and mir_eval.  Run from the repository root with B=build.  Details in
# tests/bench/ctrl_music_eval.py.  Prints tables; asserts nothing.
B=${B:-build}
PY=${PYTHON:-/usr/bin/python3}
for t in fluidsynth aubio sox soxi; do
	command -v "$t" >/dev/null || { echo "# ctrl_music_eval: $t not installed, skipped"; exit 0; }
done
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || { echo "# ctrl_music_eval: fluid-soundfont-gm not installed, skipped"; exit 0; }
"$PY" -c 'import mir_eval, numpy' 2>/dev/null || { echo "# ctrl_music_eval: no mir_eval for $PY, skipped"; exit 0; }
[ -x "$B/bin/ctrl-extract" ] || { echo "ctrl_music_eval: $B/bin/ctrl-extract not built" >&2; exit 1; }
B="$B" exec "$PY" tests/bench/ctrl_music_eval.py
