#!/bin/sh
# ts_train_parity.sh - the training loop of `ts-forecast eval` against
# Time-Series-Library's, a whole epoch on the real data: dc_fc_train runs
# from its initial weights (tests/bench/ts_train_dump.c writes them, the
# batch order, each step's loss and the validation MSE), then
# tests/bench/ts_train_parity.py replays the same batches in TSLib's own
# model, data loader and torch.optim.Adam with the type1 schedule, and scores
# TSLib's validation set.  Dropout is 0, so both sides compute the same
# function: a difference in batching, the loss, Adam, the schedule,
# BatchNorm's running statistics or the validation shows as losses that
# drift apart, which ts_parity_full.sh (one step) cannot see.  Prints each
# cell's step losses at a few steps, the worst relative difference over all
# steps and the validation MSE on both sides; exits 1 if a step differs by
# more than 1e-3 relative, or a validation MSE.
#
#   tests/bench/ts_train_parity.sh [TSLIB_DIR]
#
# Environment: B (build), TSLIB (default /tmp/tslib), TS_DATA
# (../shared/data/ts), EPOCHS (1), THREADS (1 a side), PYTHON
# (/usr/bin/python3), TMPDIR.  Time on 2 cores: about 30 minutes.
B=${B:-build}
TSLIB=${1:-${TSLIB:-/tmp/tslib}}
D=${TS_DATA:-../shared/data/ts}
PY=${PYTHON:-/usr/bin/python3}
T=${THREADS:-1}
[ -d "$TSLIB/models" ] || { echo "ts_train_parity: no Time-Series-Library at $TSLIB, skipped"; exit 0; }
make -s -f tests/bench/Makefile B="$B" "$B/bench/ts_train_dump" || exit 1
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT INT TERM
st=0
# model data horizon JSON: the open cells of ts-forecast(1) ACCURACY, their
# settings with dropout 0 (Informer is left out: its ProbSparse attention
# samples keys with torch.randint in training)
while read -r m d h js; do
	[ -r "$D/$d.csv" ] || { echo "ts_train_parity: no $D/$d.csv, skipped"; continue; }
	"$B/bench/ts_train_dump" "$m" "$D/$d.csv" "$h" "$T" "$js" "${EPOCHS:-1}" "$tmp" &&
		THREADS=$T "$PY" tests/bench/ts_train_parity.py "$TSLIB" "$D/$d.csv" "$tmp" || st=1
done <<'CELLS'
PatchTST ETTh2 96 {"e_layers":3,"n_heads":4,"dropout":0}
Autoformer ETTh1 192 {"e_layers":2,"d_layers":1,"factor":3,"dropout":0}
CELLS
exit $st
