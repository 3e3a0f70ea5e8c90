#!/bin/sh
# demo.sh - the main job on the embedded defaults, run by `make demo`.
# Each tool joins here once it works; output goes to build/demo/.
set -eu
B=${B:-build}
PATH="$PWD/$B/bin:$PATH"
out=build/demo
mkdir -p "$out"
echo "== diffcore demo (outputs in $out/)"

# The tensor stream: an image into a stream, inspected, and back.
if command -v tensor-tool >/dev/null 2>&1 && [ -f share/diffcore/samples/chelsea.png ]; then
	tensor-tool from-png share/diffcore/samples/chelsea.png -o "$out/sample.dts"
	tensor-tool info "$out/sample.dts"
	tensor-tool to-png "$out/sample.dts" -o "$out/sample.png"
	tensor-tool from-png -N chelsea "$out/sample.png" | cmp -s - "$out/sample.dts" &&
		echo "round trip PNG -> stream -> PNG: $out/sample.png, pixels identical"
fi
S=share/diffcore/samples

# ctrl-extract: control images the way ControlNet's annotators make them,
# a music loop's melody, dynamics and rhythm, and the metrics that compare.
if command -v ctrl-extract >/dev/null 2>&1; then
	ctrl-extract canny $S/chelsea.png -o "$out/canny.png"
	ctrl-extract canny --resolution 512 $S/chelsea.png -o "$out/canny-512.png"
	ctrl-extract lines $S/chelsea.png -o "$out/lines.png"
	ctrl-extract scribble $S/chelsea.png -o "$out/scribble.png"
	ctrl-extract shuffle --seed 1 $S/chelsea.png -o "$out/shuffle.png"
	echo "image conditions: $out/canny.png canny-512.png lines.png scribble.png shuffle.png"
	ctrl-extract melody $S/loop_mika.flac -o "$out/melody.dts"
	ctrl-extract dynamics $S/loop_mika.flac -o "$out/dynamics.dts"
	ctrl-extract rhythm $S/loop_mika.flac -o "$out/rhythm.dts"
	tensor-tool info "$out/rhythm.dts" | awk -F'\t' 'NR > 1 { print "  " $2 ": " $4 " (" $5 ")" }'
	tempo=$(tensor-tool info --json "$out/rhythm.dts" | tr ',' '\n' | grep -m1 '"tempo"' | tr -dc '0-9.')
	echo "rhythm of $S/loop_mika.flac: tempo $tempo bpm"
	ctrl-extract compare "$out/canny.png" "$out/canny.png"
fi
# ts-forecast: fit a forecaster on an hourly series, forecast two days
# with a 90% interval, and plot it.
if command -v ts-forecast >/dev/null 2>&1; then
	ts-forecast fit -q --model DLinear --horizon 48 $S/load.csv -o "$out/load.model"
	ts-forecast predict "$out/load.model" $S/load.csv --interval 0.9 --plot "$out/forecast.png" \
		-o "$out/forecast.csv"
	echo "forecast: $out/forecast.csv (48 hours, 90% interval), plot $out/forecast.png"
	head -3 "$out/forecast.csv"
fi
# dit-gen: text to image with the default PixArt model (64x64 emoji),
# one prompt, then a batch from stdin.
if command -v dit-gen >/dev/null 2>&1; then
	dit-gen --seed 1 "a red apple" -o "$out/apple.png"
	printf 'flag of japan\na rocket\na red heart\ngrinning face\n' |
		dit-gen --seed 1 -o "$out/emoji_%d.png"
	echo "images: $out/apple.png, $out/emoji_1.png .. emoji_4.png (flag of japan, a rocket, a red heart, grinning face)"
	# a controlled image: the edges of the heart steer "a red apple"
	ctrl-extract canny "$out/emoji_3.png" -o "$out/heart-edges.png"
	dit-gen --seed 1 --control "$out/heart-edges.png" "a red apple" -o "$out/apple-heart.png"
	ctrl-extract canny "$out/apple-heart.png" -o "$out/apple-heart-edges.png"
	echo "controlled image: $out/apple-heart.png (a red apple following $out/heart-edges.png)"
	ctrl-extract compare "$out/heart-edges.png" "$out/apple-heart-edges.png"
	# the same with the RelaCtrl branch (14.6% of the ControlNet's parameters)
	dit-gen --seed 1 --controlnet share/diffcore/models/pixart-emoji/relactrl \
		--control "$out/heart-edges.png" "a red apple" -o "$out/apple-heart-relactrl.png"
	echo "RelaCtrl-controlled image: $out/apple-heart-relactrl.png"
fi
# relevance-score: how much each of the default ControlNet's 4 blocks matters
# (a reduced evaluation set: 8 items, 10 steps)
if command -v relevance-score >/dev/null 2>&1; then
	relevance-score -q --count 8 --steps 10 -o "$out/relevance.tsv" --chart "$out/relevance.png"
	echo "relevance scores: $out/relevance.tsv, chart $out/relevance.png"
	cat "$out/relevance.tsv"
fi
# spk-embed: speaker embeddings with the default ECAPA-TDNN (trained on other
# speakers); two sentences of one speaker score high, another speaker low
if command -v spk-embed >/dev/null 2>&1; then
	spk-embed -q $S/spk1030_a.flac $S/spk1030_b.flac $S/spk1037_a.flac -o "$out/speakers.dts"
	echo "speaker embeddings: $out/speakers.dts"
	tensor-tool info "$out/speakers.dts" | head -4
	printf '%s\t%s\n' $S/spk1030_a.flac $S/spk1030_b.flac $S/spk1030_a.flac $S/spk1037_a.flac \
		> "$out/trials.tsv"
	echo "scores (same speaker, then another speaker):"
	spk-embed -q score --trials "$out/trials.tsv"
fi
# tts-synth: a spoken sentence with the default voice (FastSpeech 2 + Vocos,
# distilled from festival's HTS slt voice), its word and phone timestamps,
# and the front end's phones (normalised text, CMU phones with stress)
if command -v tts-synth >/dev/null 2>&1; then
	t="Dr. Smith paid \$5.50 on 3/4/2021, at 10:30."
	echo "$t" | tts-synth --phonemes | tee "$out/phonemes.txt"
	echo "$t" | tts-synth -q -o "$out/speech.wav" --timestamps "$out/speech.tsv"
	echo "speech: $out/speech.wav ($(awk -F'\t' '$2 == "word"' "$out/speech.tsv" | wc -l) words" \
		"timed in $out/speech.tsv)"
	echo "$t" | tts-synth -q --speed 0.8 --pitch 1.15 -o "$out/speech-slow-high.wav"
	echo "slower and higher: $out/speech-slow-high.wav"
fi
echo "== demo done"
