#!/bin/sh
# spk_eer.sh - speaker verification accuracy of spk-embed on the 125 test
# speakers of speechocean762 (github jimbozhang/speechocean762, CC BY 4.0;
# disjoint from the 125 speakers the default model trained on), through the
# CLI: `spk-embed eval --trials` on a stated trial list, and the same list
# scored by the MFCC-statistics baseline of the training recipe.
#
# The trial list (deterministic, written to $WORK/trials.tsv): every target
# pair (all 23,750 same-speaker pairs of the 2,500 utterances) and, for
# each utterance i of the sorted list, the utterances j = (i + 1 + 61k) mod
# 2500, k = 0..39, with j > i and another speaker (about 49,000
# non-target pairs).  The training recipe (share/diffcore/train/
# train_spk_ecapa.py) reports the EER over all 3.1 M pairs as well.
#
#   SO762=/path/to/speechocean762 tests/bench/spk_eer.sh
#
# Environment: SO762 (default .ref/so762), MODEL (default: the installed
# spk-ecapa), THREADS (2), B (build dir), WORK (/tmp/diffcore-spk-eer).
# Prints spk-embed eval's TSV line (EER %, minDCF 0.01 and 0.05), the
# embedding time and the real-time factor.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/${B:-build}/bin/spk-embed
D=${SO762:-$TOP/.ref/so762}
W=${WORK:-/tmp/diffcore-spk-eer}
mkdir -p "$W"
[ -r "$D/test/utt2spk" ] || { echo "spk_eer.sh: no speechocean762 at $D (set SO762)" >&2; exit 1; }
M=
[ -n "${MODEL:-}" ] && M="--model $MODEL"
awk -v d="$D" 'FNR == NR { spk[$1] = $2; next } { printf "%s/%s\t%s\n", d, $2, spk[$1] }' \
	"$D/test/utt2spk" "$D/test/wav.scp" | sort > "$W/list.tsv"
awk -F'\t' '
{ f[NR - 1] = $1; s[NR - 1] = $2 }
END {
	n = NR
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (s[i] == s[j]) printf "%s\t%s\t1\n", f[i], f[j]
	for (i = 0; i < n; i++)
		for (k = 0; k < 40; k++) {
			j = (i + 1 + 61 * k) % n
			if (j > i && s[i] != s[j]) printf "%s\t%s\t0\n", f[i], f[j]
		}
}' "$W/list.tsv" > "$W/trials.tsv"
echo "trials: $(awk '$3 == 1' "$W/trials.tsv" | wc -l) target, $(awk '$3 == 0' "$W/trials.tsv" | wc -l) non-target"
secs=$(awk -F'\t' '{ print $1 }' "$W/list.tsv" | xargs soxi -D 2>/dev/null | awk '{ s += $1 } END { print s }') || secs=
t0=$(date +%s.%N)
# shellcheck disable=SC2086
"$BIN" -q -t "${THREADS:-2}" $M eval --trials "$W/trials.tsv" --det "$W/det.png"
t1=$(date +%s.%N)
echo "eval (2500 files embedded once each, then scored): $(echo "$t1 - $t0" | bc) s wall${secs:+ for $secs s of audio, RTF $(echo "scale=5; ($t1 - $t0) / $secs" | bc)}"
echo "DET curve: $W/det.png"
