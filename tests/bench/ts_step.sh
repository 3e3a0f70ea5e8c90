#!/bin/sh
# ts_step.sh - one training step of each ts-forecast model against the same
# step in PyTorch, in the same run, on the same threads: forward in training
# mode, MSE, backward, Adam (ours: tests/bench/bench_ts_step.c through
# libdiffcore; torch: tests/bench/ts_step_torch.py with Time-Series-Library's
# own model classes).  Batch 32 of random windows of the ETTh1 shape, horizon
# 96, each model at the settings of its ETTh1 H96 row in ts-forecast(1)
# ACCURACY.  ts_fit.sh times whole fits, which for PatchTST, Informer and
# Autoformer take tens of minutes a side; a step shows the same ratio in
# seconds.  Torch runs "plain" (python3 as installed, torch.set_num_threads)
# and "tuned" (BLIS-openmp as its BLAS, OMP_NUM_THREADS, BLIS's AVX-512
# kernels on AVX-512 CPUs), as in block.sh; the ratio is against the faster.
# Prints min/median ms per step and the speed-up torch/ours; asserts nothing
# about time.
#
#   tests/bench/ts_step.sh [TSLIB_DIR]
#
# Environment: B (build), BENCH_RUNS (10), BENCH_THREADS (2), MODELS (all
# five), TSLIB (default /tmp/tslib), PYTHON (/usr/bin/python3).
B=${B:-build}
R=${BENCH_RUNS:-10}
T=${BENCH_THREADS:-2}
TSLIB=${1:-${TSLIB:-/tmp/tslib}}
PY=${PYTHON:-/usr/bin/python3}
LIBDIR=/usr/lib/x86_64-linux-gnu
[ -d "$TSLIB/models" ] || { echo "ts_step: no Time-Series-Library at $TSLIB, skipped"; exit 0; }
make -s -f tests/bench/Makefile B="$B" "$B/bench/bench_ts_step" || exit 1
res=$(mktemp) || exit 1
trap 'rm -f "$res"' EXIT INT TERM
TARCH=DIFFCORE_BENCH_DUMMY=1
grep -q avx512f /proc/cpuinfo 2>/dev/null && TARCH=BLIS_ARCH_TYPE=0

# settings MODEL -> "JSON for ours|key=value for torch"
settings() {
	case $1 in
	iTransformer) echo '{"d_model":256,"d_ff":256,"e_layers":2}|d_model=256 d_ff=256 e_layers=2' ;;
	PatchTST) echo '{"e_layers":1,"n_heads":2}|e_layers=1 n_heads=2' ;;
	Informer | Autoformer) echo '{"e_layers":2,"d_layers":1,"factor":3}|e_layers=2 d_layers=1 factor=3' ;;
	*) echo '{}|' ;;
	esac
}

printf 'side\tmodel\tH\tparams\tmin_ms\tmedian_ms\tloss0\n'
for m in ${MODELS:-DLinear iTransformer PatchTST Informer Autoformer}; do
	s=$(settings "$m")
	js=${s%%|*}; kv=${s#*|}
	"$B/bench/bench_ts_step" "$m" 96 "$R" "$T" "$js" | tee "$res.ours" || exit 1
	# shellcheck disable=SC2086 # kv is several words
	"$PY" tests/bench/ts_step_torch.py "$TSLIB" "$m" 96 "$R" "$T" $kv | sed 's/^torch/torch-plain/' |
		tee "$res.plain" || exit 1
	# shellcheck disable=SC2086
	env LD_LIBRARY_PATH="$LIBDIR/blis-openmp" OMP_NUM_THREADS="$T" "$TARCH" \
		"$PY" tests/bench/ts_step_torch.py "$TSLIB" "$m" 96 "$R" "$T" $kv | sed 's/^torch/torch-tuned/' |
		tee "$res.tuned" || exit 1
	cat "$res.ours" "$res.plain" "$res.tuned" >> "$res"
done
echo
awk -F'\t' -v T="$T" '
	$1 == "ours" { o[$2] = $5; p[$2] = $4; order[++n] = $2 }
	$1 ~ /^torch/ { if (!($2 in t) || $5 < t[$2]) t[$2] = $5; if ($4 != p[$2]) diff[$2] = $4 }
	END {
		for (i = 1; i <= n; i++) {
			m = order[i]
			if (!(m in t)) { printf "%s: no torch time (see above)\n", m; continue }
			printf "%s training step (batch 32, ETTh1 shape, H96), %d threads: ours %.1f ms, torch %.1f ms, %.2fx%s\n",
				m, T, o[m], t[m], t[m] / o[m], (m in diff) ? " (parameter counts differ!)" : ""
		}
	}' "$res"
rm -f "$res.ours" "$res.plain" "$res.tuned"
