#!/bin/sh
# dit.sh - whole-DiT benchmark: one PixArt-alpha forward (PixArt-XL-2 shape:
# hidden 1152, 16 heads x 72, MLP 4608, 120 T5 tokens, micro-conditions;
# batch 1, f32) at 512^2 (1024 tokens) and 1024^2 (4096 tokens):
# libdiffcore (tests/bench/bench_dit.c, lib/models/pixart.c) against plain
# PyTorch (tests/bench/dit_torch.py, /usr/bin/python3 torch 1.13) in the same
# run, both with the same synthetic weights and inputs (their outputs are
# printed as CHECK lines and must agree).  PyTorch runs in its best measured
# configuration: LD_LIBRARY_PATH at Debian's OpenMP BLIS, OMP_NUM_THREADS=T,
# BLIS_ARCH_TYPE=0 (AVX-512 'skx' kernels) on AVX-512 CPUs, set_num_threads(T).
#
# Layers: BENCH_LAYERS (default 7) distinct blocks are run and every time is
# scaled by 28/BENCH_LAYERS in the summary (blocks are identical in cost; the
# embeddings and final layer, < 0.5% of a forward, are scaled too, which
# slightly overstates both sides alike).  BENCH_LAYERS=28 runs the full model
# (2.4 GB of f32 weights per process; about 4x the time).
# Prints min/median ms, the ratio torch/ours (> 1: we are faster), our GFLOP/s
# and its fraction of the BLIS sgemm peak (dc_sgemm 4096x4608x1152, same run).
# Asserts nothing about time.
#
# Reduced precision (BENCH_PRECS): the same forward with the blocks' linear
# layers in bf16 (weights and activations, f32 accumulation) and int8
# weight-only storage (per-output-channel scale, computed as bf16), through
# dc_pixart_set_precision in the same process as our f32 run; a second table
# gives their times, the ratio torch f32 / ours, the speed-up over our f32,
# GFLOP/s as a fraction of the vdpbf16ps instruction peak (from registers,
# same run) and of our bf16 GEMM at 4096x4608x1152, and the error of the
# output against our f32 output (max |d| / max |f32|, rms(d) / rms(f32)).
#
# Environment: B (build dir), BENCH_RUNS (2, after one warm-up), BENCH_SIDES
# ("512 1024"), BENCH_THREADS (2), BENCH_LAYERS (7), BENCH_PRECS ("f32,bf16,int8";
# "f32" alone is the f32 benchmark), PYTHON (/usr/bin/python3).
B=${B:-build}
R=${BENCH_RUNS:-2}
SIDES=${BENCH_SIDES:-512 1024}
T=${BENCH_THREADS:-2}
L=${BENCH_LAYERS:-7}
PRECS=${BENCH_PRECS:-f32,bf16,int8}
PY=${PYTHON:-/usr/bin/python3}
LIBDIR=/usr/lib/x86_64-linux-gnu
export BENCH_LAYERS=$L

make -s -f tests/bench/Makefile B="$B" "$B/bench/bench_dit" || exit 1
res=$(mktemp) || exit 1
trap 'rm -f "$res"' EXIT INT TERM

TARCH="DIFFCORE_BENCH_DUMMY=1"
grep -q avx512f /proc/cpuinfo 2>/dev/null && TARCH="BLIS_ARCH_TYPE=0"

echo "== PixArt-alpha DiT forward, batch 1, $PRECS, $T threads, $L layers (scaled to 28), $R runs + warm-up"
"$B/bench/bench_dit" -p -t "$T" -P "$PRECS" | tee -a "$res"
for s in $SIDES; do
	DIFFCORE_NUM_THREADS="$T" "$B/bench/bench_dit" -t "$T" -r "$R" -P "$PRECS" "$s" | tee -a "$res"
	if "$PY" -c 'import torch' 2>/dev/null; then
		env LD_LIBRARY_PATH="$LIBDIR/blis-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
			OMP_NUM_THREADS="$T" "$TARCH" \
			"$PY" tests/bench/dit_torch.py -t "$T" -r "$R" --label torch "$s" | tee -a "$res"
	else
		echo "# no torch for $PY: peer skipped"
	fi
done

echo
echo "== summary (ms for 28 layers: min / median; ratio = torch / ours by min)"
awk -v L="$L" -v T="$T" '
$1 == "RESULT" && $2 == "peak" { peak = $4; next }
$1 == "RESULT" && $2 == "peak-bf16" { pbf = $4; next }
$1 == "RESULT" && $2 == "peak-dp" { pdp = $4; next }
$1 == "ERR" { err[$2, $3] = sprintf("%.2g / %.2g", $4, $5); next }
$1 == "PACK" { pack[$2] = sprintf("%s MB in %.1f s", $4 * 28 / L, $3 * 28 / L); next }
$1 == "RESULT" { mn[$2, $3] = $4 * 28 / L; md[$2, $3] = $5 * 28 / L; if (NF >= 6) gf[$3] = $6 * 28 / L;
	lab[$2] = 1;
	if (!($3 in seen)) { order[++n] = $3; seen[$3] = 1 } next }
$1 == "CHECK" { chk[$2, $3] = $4 " " $5 " " $6; next }
END {
	printf "%6s %20s %20s %7s %8s %6s  %s\n", "tokens", "ours", "torch", "ratio", "GFLOP/s", "%BLIS", "check (mean|out| out0 out1)"
	for (i = 1; i <= n; i++) {
		t = order[i]
		has = (("torch" SUBSEP t) in mn)
		r = "-"; tm = "-"; td = "-"
		if (has) { r = sprintf("%.2f", mn["torch", t] / mn["ours", t]); tm = sprintf("%.0f", mn["torch", t]); td = sprintf("%.0f", md["torch", t]) }
		g = gf[t] / mn["ours", t] * 1e3
		pk = peak > 0 ? 100 * g / peak : 0
		printf "%6d %9.0f /%9.0f %9s /%9s %7s %8.1f %5.0f%%  ours %s | torch %s\n", t, mn["ours", t], md["ours", t], tm, td, r, g, pk, chk["ours", t], chk["torch", t]
	}
	printf "BLIS sgemm peak (dc_sgemm 4096x4608x1152): %.1f GFLOP/s\n", peak
	nq = split("bf16 int8", qs, " ")
	any = 0
	for (j = 1; j <= nq; j++) if (("ours-" qs[j]) in lab) any = 1
	if (!any) exit
	printf "\n== reduced precision (ms for 28 layers: min / median; ratio = torch f32 / ours by min; x f32 = ours f32 / ours; error vs our f32 output: max|d|/max|f32| / rms(d)/rms(f32))\n"
	printf "%6s %5s %20s %7s %6s %8s %6s %6s  %s\n", "tokens", "prec", "ours", "ratio", "x f32", "GFLOP/s", "%dp", "%gemm", "error"
	for (i = 1; i <= n; i++) {
		t = order[i]
		for (j = 1; j <= nq; j++) {
			q = "ours-" qs[j]
			if (!((q SUBSEP t) in mn)) continue
			r = (("torch" SUBSEP t) in mn) ? sprintf("%.2f", mn["torch", t] / mn[q, t]) : "-"
			x = (("ours" SUBSEP t) in mn) ? sprintf("%.2f", mn["ours", t] / mn[q, t]) : "-"
			g = gf[t] / mn[q, t] * 1e3
			printf "%6d %5s %9.0f /%9.0f %7s %6s %8.1f %5.0f%% %5.0f%%  %s\n", t, qs[j], mn[q, t], md[q, t], r, x, g, (pdp > 0 ? 100 * g / pdp : 0), (pbf > 0 ? 100 * g / pbf : 0), err[q, t]
		}
	}
	printf "vdpbf16ps peak (registers, %s threads): %.1f GFLOP/s; our bf16 GEMM 4096x4608x1152: %.1f GFLOP/s\n", T, pdp, pbf
	for (j = 1; j <= nq; j++) if (("ours-" qs[j]) in pack) printf "packed %s blocks (28 layers): %s\n", qs[j], pack["ours-" qs[j]]
}' "$res"
