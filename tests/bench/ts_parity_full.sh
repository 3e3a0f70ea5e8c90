#!/bin/sh
# ts_parity_full.sh - every forecaster at the published sizes against
# Time-Series-Library's own PyTorch model: one training-mode forward and
# backward (dropout 0) from the same weights and batch, output and every
# parameter gradient compared (tests/bench/ts_parity_dump.c writes ours,
# tests/bench/ts_parity_full.py repeats it in TSLib).  The unit tests do
# this on tiny configurations with golden files; here the widths, head
# sizes and token counts of ts-forecast(1)'s ACCURACY cells take the
# kernels' blocked and threaded paths.  Informer runs with a factor large
# enough that ProbAttention attends every query (its sampled keys are
# torch.randint draws, replayed only in the unit test), so the comparison
# is exact.  Then the dropouts, which no golden file can pin down (the
# masks are random on both sides): with dropout 0.1, the spread and mean of
# the output over RUNS training forwards (default 100) on each side, whose
# ratio shows a dropout site missing, extra or wrongly scaled.  Prints one
# line per configuration; exits 1 if any differs (output above 1e-4
# relative, a gradient above 1e-3, the spreads' ratio off 1 by more than
# 0.5/sqrt(RUNS), a mean by more than 5 sqrt(2/RUNS) spreads).
#
#   tests/bench/ts_parity_full.sh [TSLIB_DIR]
#
# Environment: B (build), TSLIB (default /tmp/tslib), RUNS (100), PYTHON
# (/usr/bin/python3), TMPDIR.
B=${B:-build}
TSLIB=${1:-${TSLIB:-/tmp/tslib}}
PY=${PYTHON:-/usr/bin/python3}
RUNS=${RUNS:-100}
[ -d "$TSLIB/models" ] || { echo "ts_parity_full: no Time-Series-Library at $TSLIB, skipped"; exit 0; }
make -s -f tests/bench/Makefile B="$B" "$B/bench/ts_parity_dump" || exit 1
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT INT TERM
st=0
# model horizon batch runs JSON (the cells' settings; dropout 0, or runs
# of dropout 0.1)
while read -r m h b r js; do
	[ "$r" = 0 ] || r=$RUNS
	"$B/bench/ts_parity_dump" "$m" "$h" 2 "$js" "$tmp" "$b" "$r" &&
		"$PY" tests/bench/ts_parity_full.py "$TSLIB" "$tmp" || st=1
done <<'EOF'
DLinear 336 8 0 {"dropout":0}
iTransformer 96 8 0 {"d_model":256,"d_ff":256,"e_layers":2,"dropout":0}
iTransformer 720 8 0 {"d_model":512,"d_ff":512,"e_layers":2,"dropout":0}
PatchTST 96 8 0 {"e_layers":1,"n_heads":2,"dropout":0}
PatchTST 96 8 0 {"e_layers":3,"n_heads":4,"dropout":0}
PatchTST 336 8 0 {"e_layers":1,"n_heads":8,"dropout":0}
PatchTST 720 8 0 {"e_layers":1,"n_heads":16,"dropout":0}
Informer 96 8 0 {"e_layers":2,"d_layers":1,"factor":40,"dropout":0}
Informer 336 4 0 {"e_layers":2,"d_layers":1,"factor":80,"dropout":0}
Autoformer 96 8 0 {"e_layers":2,"d_layers":1,"factor":3,"dropout":0}
Autoformer 720 4 0 {"e_layers":2,"d_layers":1,"factor":3,"dropout":0}
PatchTST 96 2 R {"e_layers":3,"n_heads":4,"dropout":0.1}
iTransformer 96 2 R {"d_model":256,"d_ff":256,"e_layers":2,"dropout":0.1}
Informer 96 2 R {"e_layers":2,"d_layers":1,"factor":40,"dropout":0.1}
Autoformer 96 2 R {"e_layers":2,"d_layers":1,"factor":3,"dropout":0.1}
EOF
exit $st

