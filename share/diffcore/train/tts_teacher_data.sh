#!/bin/sh
# tts_teacher_data.sh - the teacher corpus for tts-synth's default voice
# (FastSpeech's sequence-level distillation): sentences from WordNet's
# usage examples (Debian wordnet-base, WordNet 3.0 licence), spoken by
# Debian's festival HTS voice cmu_us_slt_arctic_hts (festvox-us-slt-hts),
# with festival's own phone segmentation, so durations are exact.
#
#   share/diffcore/train/tts_teacher_data.sh [--list] OUTDIR [COUNT]
#
# --list writes only OUTDIR/sentences.txt (tests/bench/tts_intelligibility.sh
# takes its held-out sentences from the same order, after the first 4000).
#
# OUTDIR/sentences.txt   id<TAB>text, COUNT sentences (default 4000): the
#                        WordNet examples of 5 to 20 words, letters and
#                        ordinary punctuation only, capitalised and ended
#                        with a full stop where they had no end mark,
#                        de-duplicated, in a fixed pseudo-random order
#                        (sorted by the md5 of the text)
# OUTDIR/wav/ID.wav      festival's 32 kHz 16-bit output
# OUTDIR/seg/ID.txt      phone<TAB>start<TAB>end (seconds), festival's
#                        Segment relation (radio phone set, pau for pauses)
# One festival process synthesises everything (about 27x real time on one
# core).  Needs: festival festvox-us-slt-hts festlex-cmu wordnet-base.
set -eu
LIST=0
[ "${1:-}" = --list ] && { LIST=1; shift; }
OUT=${1:?usage: tts_teacher_data.sh [--list] OUTDIR [COUNT]}
N=${2:-4000}
mkdir -p "$OUT/wav" "$OUT/seg"
cat /usr/share/wordnet/data.noun /usr/share/wordnet/data.verb /usr/share/wordnet/data.adj \
    /usr/share/wordnet/data.adv |
	grep -o '"[^"]*"' | tr -d '"' |
	awk '{ n = split($0, w, " ") } n >= 5 && n <= 20 && $0 ~ /^[A-Za-z][A-Za-z ,;:.?!'"'"'-]*$/ {
		s = toupper(substr($0, 1, 1)) substr($0, 2)
		if (s !~ /[.?!]$/) s = s "."
		print s }' |
	sort -u |
	while IFS= read -r s; do printf '%s\t%s\n' "$(printf '%s' "$s" | md5sum | cut -c1-12)" "$s"; done |
	sort | head -n "$N" |
	awk -F'\t' '{ printf "s%05d\t%s\n", NR, $2 }' > "$OUT/sentences.txt"
[ "$LIST" = 1 ] && exit 0
# festival script: one (synth-one ID TEXT) per sentence
{
	echo '(voice_cmu_us_slt_arctic_hts)'
	echo '(define (synth-one id text)
  (let ((u (SynthText text)))
    (utt.save.wave u (string-append "'"$OUT"'/wav/" id ".wav") (quote riff))
    (let ((fd (fopen (string-append "'"$OUT"'/seg/" id ".txt") "w")))
      (mapcar (lambda (s) (format fd "%s\t%0.5f\t%0.5f\n" (item.name s)
                (item.feat s "segment_start") (item.feat s "segment_end")))
              (utt.relation.items u (quote Segment)))
      (fclose fd))))'
	awk -F'\t' '{ t = $2; gsub(/\\/, "", t); gsub(/"/, "", t); printf "(synth-one \"%s\" \"%s\")\n", $1, t }' \
		"$OUT/sentences.txt"
} > "$OUT/synth.scm"
festival -b "$OUT/synth.scm"
echo "$(ls "$OUT/wav" | wc -l) utterances in $OUT"
