#!/bin/sh
# tts.sh - the text-to-speech benchmark: the whole tts-synth pipeline (a
# process started on a text file, ending with a WAV file: voice loading,
# normalisation, phonemes, FastSpeech 2, vocoder, writing) for one long
# paragraph of ordinary English (the 10 WordNet examples after the first
# 4000 of share/diffcore/train/tts_teacher_data.sh's order, so not in the
# default voice's training corpus), with the default voice tts-slt on
# BENCH_THREADS threads:
#   (a) the neural vocoder (Vocos, the default)
#   (b) --vocoder griffin-lim
#   (c) the teacher the voice was distilled from, festival's
#       text2wave -eval '(voice_cmu_us_slt_arctic_hts)' (one thread), when
#       installed
#   (d) time to first audio of --stream: from just before fork until the
#       first byte of samples past the 44-byte WAV header comes out of the
#       pipe (tests/bench/bench_tts.c), neural and Griffin-Lim
# Prints min/median wall time, the real-time factor of each (wall time /
# seconds of audio it made; below 1 is faster than real time) and the
# ratios between them, all measured in the same run; asserts nothing about
# time.
#
# Environment: B (build), BENCH_RUNS (5), BENCH_THREADS (2), BENCH_TTS_DIR
# (a temporary folder).  Needs the default voice
# (share/diffcore/models/tts-slt); festival festvox-us-slt-hts for (c).
B=${B:-build}
R=${BENCH_RUNS:-5}
T=${BENCH_THREADS:-2}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TTS=$TOP/$B/bin/tts-synth
VOICE=$TOP/share/diffcore/models/tts-slt

if [ ! -f "$VOICE/config.json" ]; then
	echo "# no default voice ($VOICE): tts benchmark skipped"
	exit 0
fi
make -s -f tests/bench/Makefile B="$B" "$B/bench/bench_tts" || exit 1
[ -x "$TTS" ] || make -s "$B/bin/tts-synth" || exit 1
DIR=${BENCH_TTS_DIR:-}
if [ -z "$DIR" ]; then
	DIR=$(mktemp -d) || exit 1
	trap 'rm -rf "$DIR"' EXIT INT TERM
fi
res=$DIR/results
: >"$res"

cat >"$DIR/para.txt" <<'EOF'
He got the beer concession at the ball park. His submission to the will of God. Cottages along by the river. The movie was an old-fashioned hair-raiser. Punctilious in his attention to rules of etiquette. The iris has an ensiform leaf. He measure the dissolubility of sugar in water. They set up camp next to the dig. His business is auto parts. His promise is not worth a damn.
EOF

# seconds of audio in a WAV file (any header: sox if present)
dur() {
	if command -v soxi >/dev/null 2>&1; then
		soxi -D "$1"
	else
		echo $(( $(od -An -tu4 -j40 -N4 "$1") )) $(( $(od -An -tu4 -j24 -N4 "$1") )) |
			awk '{ print $1 / 2 / $2 }'
	fi
}

run() {   # label outfile command... (stdin: the paragraph)
	label=$1 out=$2
	shift 2
	"$@" -o "$out" <"$DIR/para.txt" || return 1   # a warm-up run, and the audio to measure
	echo "DUR $label $(dur "$out")" >>"$res"
	"$B/bench/bench_tts" -r "$R" -l "$label" -i "$DIR/para.txt" -- "$@" -o "$out" | tee -a "$res"
}

echo "== tts-synth, default voice, $T threads, a paragraph of 10 sentences, $R runs each"
run neural "$DIR/neural.wav" "$TTS" -q -t "$T" || exit 1
run griffin-lim "$DIR/gl.wav" "$TTS" -q -t "$T" --vocoder griffin-lim || exit 1

if command -v text2wave >/dev/null 2>&1 &&
	text2wave -eval '(voice_cmu_us_slt_arctic_hts)' -o "$DIR/teacher.wav" "$DIR/para.txt" 2>/dev/null &&
	[ -s "$DIR/teacher.wav" ]; then
	echo "DUR teacher $(dur "$DIR/teacher.wav")" >>"$res"
	"$B/bench/bench_tts" -r "$R" -l teacher -- text2wave -eval '(voice_cmu_us_slt_arctic_hts)' \
		-o "$DIR/teacher.wav" "$DIR/para.txt" | tee -a "$res"
else
	echo "# no festival with voice_cmu_us_slt_arctic_hts: teacher skipped"
fi

echo "== time to first audio, --stream to a pipe, $R runs each"
"$B/bench/bench_tts" -r "$R" -l stream-neural -i "$DIR/para.txt" -- "$TTS" -q -t "$T" --stream |
	tee -a "$res"
"$B/bench/bench_tts" -r "$R" -l stream-griffin-lim -i "$DIR/para.txt" -- "$TTS" -q -t "$T" --stream \
	--vocoder griffin-lim | tee -a "$res"

awk '$1 == "DUR" { d[$2] = $3 }
$1 == "RESULT" && $3 == "total" { mn[$2] = $4; md[$2] = $5 }
$1 == "RESULT" && $3 == "ttfa" { fmn[$2] = $4; fmd[$2] = $5 }
function rtf(l) {
	printf "%-12s %6.2f s of audio, %8.1f ms (median %8.1f): RTF %.4f (median %.4f), %.1fx real time\n",
		l, d[l], mn[l], md[l], mn[l] / 1000 / d[l], md[l] / 1000 / d[l], d[l] * 1000 / mn[l]
}
END {
	n = split("neural griffin-lim teacher", L, " ")
	for (i = 1; i <= n; i++) if ((L[i] in d) && (L[i] in mn)) rtf(L[i])
	if (("neural" in mn) && ("griffin-lim" in mn))
		printf "RTF griffin-lim/neural = %.2f (min), %.2f (median)\n",
			(mn["griffin-lim"] / d["griffin-lim"]) / (mn["neural"] / d["neural"]),
			(md["griffin-lim"] / d["griffin-lim"]) / (md["neural"] / d["neural"])
	if (("neural" in mn) && ("teacher" in mn))
		printf "RTF teacher/neural = %.2f (min), %.2f (median)\n",
			(mn["teacher"] / d["teacher"]) / (mn["neural"] / d["neural"]),
			(md["teacher"] / d["teacher"]) / (md["neural"] / d["neural"])
	if (("griffin-lim" in mn) && ("teacher" in mn))
		printf "RTF teacher/griffin-lim = %.2f (min), %.2f (median)\n",
			(mn["teacher"] / d["teacher"]) / (mn["griffin-lim"] / d["griffin-lim"]),
			(md["teacher"] / d["teacher"]) / (md["griffin-lim"] / d["griffin-lim"])
	for (i = 1; i <= 2; i++) {
		l = "stream-" L[i]
		if (!(l in fmn)) continue
		w = L[i]
		printf "time to first audio, %-11s %7.1f ms (median %7.1f) of %7.1f ms for the whole paragraph (median): %.2f of it\n",
			w, fmn[l], fmd[l], md[l], fmd[l] / md[l]
	}
}' "$res"
