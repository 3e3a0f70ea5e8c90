#!/bin/sh
# ts_fit.sh - time ts-forecast's training against the same model, data and
# protocol in Debian's python3-torch (tests/bench/ts_fit_torch.py, which runs
# Time-Series-Library's own model code), in the same run, on the same threads.
#
#   tests/bench/ts_fit.sh [TSLIB_DIR] [THREADS]
#
# Needs ../shared/data/ts/ETTh1.csv (skips otherwise) and a Time-Series-Library
# checkout (TSLIB_DIR, default $TSLIB or /tmp/tslib).  Prints per model: our
# eval line, torch's line (fit seconds), and the ratio.  iTransformer is
# timed too when the library has it (reference ETTh1 H96 settings: e_layers 2,
# d_model = d_ff = 256).  Timings are the minimum of REPEAT runs (default 1).
# EVAL=0 skips our scored eval line; MODELS="NLinear ..." times those instead.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TSLIB=${1:-${TSLIB:-/tmp/tslib}}
T=${2:-2}
REPEAT=${REPEAT:-1}
DATA=$TOP/../shared/data/ts/ETTh1.csv
BIN=$TOP/build/bin/ts-forecast
[ -r "$DATA" ] || { echo "ts_fit: no $DATA, skipped"; exit 0; }
[ -d "$TSLIB/models" ] || { echo "ts_fit: no Time-Series-Library at $TSLIB, skipped"; exit 0; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

min() { sort -g | head -1; }

bench() {  # bench MODEL TORCH_EXTRA...
	m=$1; shift
	: > "$TMP/ours"; : > "$TMP/torch"
	i=0
	while [ $i -lt "$REPEAT" ]; do
		# our fit: the same ETT train/val parts, whole process timed (CSV
		# parsing and the model file included); torch's time is its loop only
		s=$(date +%s.%N)
		"$BIN" fit -q -t "$T" --model "$m" --split ett --lr 1e-4 "$DATA" -o "$TMP/m.st"
		e=$(date +%s.%N)
		echo "$e - $s" | bc >> "$TMP/ours"
		/usr/bin/python3 "$TOP/tests/bench/ts_fit_torch.py" "$TSLIB" "$DATA" "$m" 96 10 "$T" "$@" |
			tee "$TMP/torch_line" | cut -f8 >> "$TMP/torch"
		i=$((i + 1))
	done
	ours=$(min < "$TMP/ours"); theirs=$(min < "$TMP/torch")
	[ "${EVAL:-1}" = 1 ] && "$BIN" eval -q --no-header -t "$T" --lr 1e-4 --model "$m" "$DATA" | sed 's/^/ours\t/'
	cat "$TMP/torch_line"
	printf '%s ETTh1 H96 fit, %s threads: ours %.2f s, torch %.2f s, ratio %.1fx\n' "$m" "$T" "$ours" "$theirs" \
		"$(echo "$theirs / $ours" | bc -l)"
}

for m in ${MODELS:-DLinear}; do bench "$m"; done
if [ -z "${MODELS:-}" ] && "$BIN" --help | grep -q iTransformer; then
	bench iTransformer d_model=256 d_ff=256 e_layers=2
fi
