#!/bin/sh
# tts_robust.sh - FastSpeech's robustness claim (no skipped or repeated
# words) checked on difficult inputs: long numbers, spelled letters and
# acronyms, URLs and e-mail addresses, times and money, very long
# sentences, repeated words.
#
#   tests/bench/tts_robust.sh [TTS_SYNTH]      (default build/bin/tts-synth)
#
# The check, per input line, synthesised with the default voice and
# --timestamps:
#   * structure: every word of the normalised text has a timestamp row, in
#     order, with at least one frame per phone (a phone of 0 frames is a
#     skip), no word shorter than 50 ms, none longer than 1.5 s (a stall),
#     and the rows tile the audio without gaps or overlaps;
#   * recognition: the normalised words (the timestamp labels) are the
#     reference; pocketsphinx's general language model decodes our audio
#     and the teacher's (festival HTS slt, given the same normalised words,
#     so both say the same thing); WER of each (tts_intelligibility.sh).
# A repeated or skipped word shows as an insertion or deletion against the
# reference, in ours and not in the teacher's.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SYNTH=${1:-$TOP/build/bin/tts-synth}
W=${WORK:-/tmp/diffcore-tts-robust}
mkdir -p "$W"
rm -f "$W"/h_*.wav
cat > "$W/hard.txt" <<'T'
Call 1-800-555-0199 or 212-555-0187 before 9:45 p.m. tonight.
The population grew from 1,234,567 to 98,765,432 between 1987 and 2023.
Account number 4417 1234 5678 9113 was charged $1,249.99 on Jan. 3rd.
Send the files to support@example.com or see https://www.example.org/docs/index.html today.
The FBI, the CIA and NASA met the CEO of IBM at the UN in NYC.
Spell it out: X Y Z Q J K W V, then A B C D E F G.
Dr. St. John lives at 221B Baker St., Apt. 4, and Mr. O'Neil at No. 10.
The 3rd, 21st, 102nd and 1000th runners finished in 2:03:45, 2:04:07 and 2:05:59.
Buffalo buffalo Buffalo buffalo buffalo buffalo Buffalo buffalo.
It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair.
Pi is 3.14159265358979 and e is 2.718281828, give or take 0.0001 percent.
The version 2.4.1-rc3 build failed at 03:00 UTC on 2024-02-29 with error 0x1F.
T
# --sentence-silence 0: the phone rows then tile the audio, sentence breaks included
"$SYNTH" -q -f --sentence-silence 0 -i "$W/hard.txt" -o "$W/h_%03d.wav" --timestamps "$W/hard.tsv"
# structure
awk -F'\t' '
	NR == 1 { next }
	$1 != u { if (u != "") fin(); u = $1; t = 0; nw[u] = 0 }
	$2 == "phone" { if ($4 - $3 < 0.001 && $5 != "pau") zero++; if ($3 < t - 1e-4 || $3 > t + 1e-4) gap++; t = $4; phones++ }
	$2 == "word" { words++; d = $4 - $3; if (d < 0.05) short++; if (d > 1.5) long++; if (d > maxw) maxw = d
	               if ($3 < lastw[u] - 1e-4) order++; lastw[u] = $4; printf "%s ", $5 > "/dev/stderr" }
	function fin() { printf "\n" > "/dev/stderr" }
	END { fin(); printf "structure: %d lines, %d words, %d phones; phones of 0 frames %d, words < 50 ms %d, " \
	      "words > 1.5 s %d (longest %.2f s), out of order %d, gaps/overlaps %d\n",
	      u, words, phones, zero, short, long, maxw, order, gap }' "$W/hard.tsv" 2> "$W/ref.txt"
# recognition, ours and the teacher's, on the normalised words
if command -v pocketsphinx_continuous > /dev/null 2>&1; then
	ours=$(N_DIGITS=0 SENTENCES="$W/ref.txt" WORK="$W/asr" \
		"$TOP/tests/bench/tts_intelligibility.sh" "$SYNTH -q -f -o \"\$1\"" | tail -n 1)
	echo "ours (default voice):   $ours"
	if command -v text2wave > /dev/null 2>&1; then
		teacher=$(N_DIGITS=0 SENTENCES="$W/ref.txt" WORK="$W/asr" \
			"$TOP/tests/bench/tts_intelligibility.sh" | tail -n 1)
		echo "teacher (festival slt): $teacher"
	fi
fi
