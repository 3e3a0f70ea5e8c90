#!/bin/sh
# t5.sh - T5 encoder benchmark at the T5 v1.1-XXL layer shape PixArt uses
# (d_model 4096, 64 heads x 64, d_ff 10240, gated-gelu; f32, batch 1,
# 120 tokens): libdiffcore (tests/bench/bench_t5.c, lib/models/t5.c)
# against a line-by-line PyTorch transcription of transformers' T5 encoder
# (tests/bench/t5_torch.py, /usr/bin/python3 torch 1.13; transformers itself
# is not installed), in the same run, with the same synthetic weights and
# inputs (outputs printed as CHECK lines, which must agree).  The
# transcription is first checked against transformers' own golden output
# (tests/golden/t5).  PyTorch runs in its best measured configuration, as in
# dit.sh: LD_LIBRARY_PATH at Debian's OpenMP BLIS, OMP_NUM_THREADS=T,
# BLIS_ARCH_TYPE=0 (AVX-512 'skx' kernels) on AVX-512 CPUs.
#
# Layers: BENCH_LAYERS (default 2) distinct layers; times are also shown
# scaled to T5-XXL's 24 (every layer costs the same; the embedding gather
# and final norm are negligible).  Prints min/median ms, the ratio
# torch/ours (> 1: we are faster), our GFLOP/s and its fraction of the BLIS
# sgemm peak (dc_sgemm 2048x4096x4096, same run), plus BLIS's own rate at a
# layer's widest GEMM (120x10240x4096) for scale.  Asserts nothing about time.
#
# Environment: B (build dir), BENCH_RUNS (3, after one warm-up), BENCH_TOKENS
# ("120"), BENCH_BATCH (1), BENCH_THREADS (2), BENCH_LAYERS (2),
# PYTHON (/usr/bin/python3).
B=${B:-build}
R=${BENCH_RUNS:-3}
TOKS=${BENCH_TOKENS:-120}
NB=${BENCH_BATCH:-1}
T=${BENCH_THREADS:-2}
L=${BENCH_LAYERS:-2}
PY=${PYTHON:-/usr/bin/python3}
LIBDIR=/usr/lib/x86_64-linux-gnu
export BENCH_LAYERS=$L

make -s -f tests/bench/Makefile B="$B" "$B/bench/bench_t5" || exit 1
res=$(mktemp) || exit 1
trap 'rm -f "$res"' EXIT INT TERM

TARCH="DIFFCORE_BENCH_DUMMY=1"
grep -q avx512f /proc/cpuinfo 2>/dev/null && TARCH="BLIS_ARCH_TYPE=0"
havetorch=0
"$PY" -c 'import torch' 2>/dev/null && havetorch=1
runtorch() {
	env LD_LIBRARY_PATH="$LIBDIR/blis-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		OMP_NUM_THREADS="$T" "$TARCH" "$PY" tests/bench/t5_torch.py -t "$T" "$@"
}

echo "== T5-XXL-shaped encoder, batch $NB, f32, $T threads, $L layers (also scaled to 24), $R runs + warm-up"
if [ $havetorch = 1 ]; then
	runtorch --golden tests/golden/t5 || { echo "# t5_torch.py disagrees with transformers' golden"; exit 1; }
fi
"$B/bench/bench_t5" -p -t "$T" | tee -a "$res"
for n in $TOKS; do
	DIFFCORE_NUM_THREADS="$T" "$B/bench/bench_t5" -t "$T" -r "$R" -b "$NB" "$n" | tee -a "$res"
	if [ $havetorch = 1 ]; then
		runtorch -r "$R" -b "$NB" --label torch "$n" | tee -a "$res"
	else
		echo "# no torch for $PY: peer skipped"
	fi
done

echo
echo "== summary (ms for $L layers: min / median; 24-layer min; ratio = torch / ours by min)"
awk -v L="$L" '
$1 == "RESULT" && $2 == "peak" { peak = $4; next }
$1 == "RESULT" && $2 == "gemm" { gemm = $4; next }
$1 == "RESULT" { mn[$2, $3] = $4; md[$2, $3] = $5; if (NF >= 6) gf[$3] = $6;
	if (!($3 in seen)) { order[++n] = $3; seen[$3] = 1 } next }
$1 == "CHECK" { chk[$2, $3] = $4 " " $5 " " $6; next }
END {
	printf "%6s %17s %17s %9s %9s %7s %8s %6s  %s\n", "tokens", "ours", "torch", "ours/24L", "torch/24L", "ratio", "GFLOP/s", "%BLIS", "check (mean|out| out0 out1)"
	for (i = 1; i <= n; i++) {
		t = order[i]
		has = (("torch" SUBSEP t) in mn)
		r = "-"; tm = "-"; td = "-"; t24 = "-"
		if (has) { r = sprintf("%.2f", mn["torch", t] / mn["ours", t]); tm = sprintf("%.0f", mn["torch", t]); td = sprintf("%.0f", md["torch", t]); t24 = sprintf("%.0f", mn["torch", t] * 24 / L) }
		g = gf[t] / mn["ours", t] * 1e3
		pk = peak > 0 ? 100 * g / peak : 0
		printf "%6d %7.0f / %7.0f %7s / %7s %9.0f %9s %7s %8.1f %5.0f%%  ours %s | torch %s\n", t, mn["ours", t], md["ours", t], tm, td, mn["ours", t] * 24 / L, t24, r, g, pk, chk["ours", t], chk["torch", t]
	}
	printf "BLIS sgemm peak (dc_sgemm 2048x4096x4096): %.1f GFLOP/s; at 120x10240x4096: %.1f GFLOP/s\n", peak, gemm
}' "$res"
