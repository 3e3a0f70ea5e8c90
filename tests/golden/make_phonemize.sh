#!/bin/sh
# make_phonemize.sh - goldens for lib/text/phonemize.c (tests/unit/test_phonemize.c).
#
# Run from the repository root:  sh tests/golden/make_phonemize.sh
# Needs (Debian 12): flite1-dev (flite 2.2), festival, festlex-cmu,
# festvox-us-slt-hts, wordnet-base; a C compiler.
#
# Inputs (committed, in tests/golden/phonemize/):
#   words.txt           308 words, one a line (# comments): common words,
#                       numbers as the normaliser spells them, words out of
#                       the lexicon, apostrophes, unpronounceable words
#   sentences_hand.txt  30 sentences with punctuation, numbers, acronyms
#   sentences_wn.txt    150 WordNet 3.0 example sentences (wordnet-base
#                       data.{noun,verb,adj,adv}: quoted examples of 5-20
#                       words of lower-case letters, spaces, commas and
#                       apostrophes, every 120th, capitalised, "." added);
#                       written by this script
# Outputs:
#   flite_words.tsv       word<TAB>phones from flite's own pipeline
#                         (make_phonemize.c: slt voice, cmulex, POS tagger,
#                         post-lexical rules; vowels with syllable stress)
#   flite_sentences.tsv   the same for every sentence (hand + WordNet)
#   festival_sentences.tsv  sentence<TAB>phones<TAB>pause durations: festival
#                         2.5 with voice_cmu_us_slt_arctic_hts (the TTS
#                         teacher), its Segment relation with the stress of
#                         each vowel's syllable, and after the phones the
#                         pauses as "pau:<seconds>" with the punctuation
#                         that precedes each ("pau:0.165:^" at the start,
#                         ":," after a comma, ":." after a full stop, ":_"
#                         where festival's phrasing put one without
#                         punctuation, ":$" at the end)
set -eu
D=tests/golden/phonemize
T=$(mktemp -d "${TMPDIR:-/tmp}/mkph.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

cc -O1 -I/usr/include/flite tests/golden/make_phonemize.c -lflite_cmu_us_slt \
	-lflite_usenglish -lflite_cmulex -lflite -lm -o "$T/mkph"

grep -o '"[^"]*"' /usr/share/wordnet/data.noun /usr/share/wordnet/data.verb \
	/usr/share/wordnet/data.adj /usr/share/wordnet/data.adv | cut -d: -f2- | tr -d '"' |
	grep -E "^[a-z][a-z ,']*[a-z]$" | awk 'NF >= 5 && NF <= 20' |
	awk 'NR % 120 == 1 { print toupper(substr($0, 1, 1)) substr($0, 2) "." }' | head -150 \
	>"$D/sentences_wn.txt"

grep -v '^#' "$D/words.txt" | "$T/mkph" >"$D/flite_words.tsv"
cat "$D/sentences_hand.txt" "$D/sentences_wn.txt" | "$T/mkph" >"$D/flite_sentences.tsv"

# festival: one utterance per sentence
{
	echo '(voice_cmu_us_slt_arctic_hts)'
	cat <<'SCM'
(define (vowelp s) (string-equal "+" (item.feat s "ph_vc")))
(define (punc-before s)
  (let ((w (item.prev s)))
    (while (and w (not (item.relation.parent w 'SylStructure)) (string-equal (item.name w) "pau"))
      (set! w (item.prev w)))
    (cond
     ((null (item.prev s)) "^")
     ((null (item.next s)) "$")
     (t (let ((p (item.feat w "R:SylStructure.parent.parent.R:Token.parent.punc")))
          (if (or (string-equal p "0") (string-equal p "")) "_" p))))))
(define (segs text)
  (let ((u (SynthText text)) (first t))
    (format t "%s\t" text)
    (mapcar (lambda (s)
              (if (not first) (format t " "))
              (set! first nil)
              (format t "%s" (item.name s))
              (if (vowelp s) (format t "%s" (item.feat s "R:SylStructure.parent.stress"))))
            (utt.relation.items u 'Segment))
    (format t "\t")
    (set! first t)
    (mapcar (lambda (s)
              (if (string-equal (item.name s) "pau")
                  (begin
                    (if (not first) (format t " "))
                    (set! first nil)
                    (format t "pau:%0.3f:%s" (- (item.feat s "segment_end") (item.feat s "segment_start"))
                            (punc-before s)))))
            (utt.relation.items u 'Segment))
    (format t "\n")))
SCM
	cat "$D/sentences_hand.txt" "$D/sentences_wn.txt" |
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/(segs "/' -e 's/$/")/'
} >"$T/fest.scm"
festival -b "$T/fest.scm" >"$D/festival_sentences.tsv"

wc -l "$D"/*.tsv
