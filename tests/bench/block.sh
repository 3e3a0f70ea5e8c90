#!/bin/sh
# block.sh - the transformer-block benchmark (make bench runs it first).
#
# PixArt-alpha transformer block forward (batch 1, f32, 2 threads) at
# N = 1024 and 4096 tokens: libdiffcore (tests/bench/bench_block.c) against
# PyTorch (tests/bench/block_torch.py, /usr/bin/python3) in the same run,
# "plain" (python3 as installed, torch.set_num_threads) and "tuned"
# (LD_LIBRARY_PATH at the OpenMP build of OpenBLAS if installed, else of
# BLIS, and OMP_NUM_THREADS so that the BLAS runs on the threads too).
# libdiffcore selects BLIS's AVX-512 kernels itself where Debian's BLIS
# does not recognise the CPU (lib/ops/gemm.c); PyTorch reaches the same
# BLIS through libblas.so.3, so "tuned" also sets BLIS_ARCH_TYPE=$BENCH_BLIS_ARCH
# (default 0, BLIS 0.9's 'skx' AVX-512 kernels) on CPUs with AVX-512F:
# that is PyTorch's best configuration measured on this machine.
# Prints min/median ms, ratios ours/torch, our GFLOP/s and the fraction of
# the BLIS sgemm peak measured in the same run.  Asserts nothing about time.
# On a shared machine other sessions' jobs (even niced ones: the kernel's
# autogroups share CPU between sessions) can halve the cores; the measured
# FMA-loop peak in the summary shows when that happened.
#
# Environment: B (build dir), BENCH_RUNS (5), BENCH_N ("1024 4096"),
# BENCH_THREADS (2), BENCH_BLIS_ARCH (0), PYTHON (/usr/bin/python3).
B=${B:-build}
R=${BENCH_RUNS:-5}
NS=${BENCH_N:-1024 4096}
T=${BENCH_THREADS:-2}
ARCH=${BENCH_BLIS_ARCH:-0}
PY=${PYTHON:-/usr/bin/python3}
LIBDIR=/usr/lib/x86_64-linux-gnu

make -s -f tests/bench/Makefile B="$B" || exit 1
res=$(mktemp) || exit 1
trap 'rm -f "$res"' EXIT INT TERM

if [ -d "$LIBDIR/openblas-openmp" ]; then TUNED=$LIBDIR/openblas-openmp
else TUNED=$LIBDIR/blis-openmp; fi

ours() { # ours LABEL ARGS [ENV...]
	l=$1; a=$2; shift 2
	env "$@" DIFFCORE_NUM_THREADS="$T" "$B/bench/bench_block" -t "$T" -r "$R" -l "$l" $a \
		| tee -a "$res"
}
torch() { # torch LABEL N [ENV...]
	l=$1; n=$2; shift 2
	if ! "$PY" -c 'import torch' 2>/dev/null; then
		echo "# $l: no torch for $PY, skipped"; return
	fi
	env "$@" "$PY" tests/bench/block_torch.py -t "$T" -r "$R" --label "$l" "$n" | tee -a "$res"
}
TLIB="LD_LIBRARY_PATH=$TUNED${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# torch.set_num_threads() does not reach the BLAS: BLIS's BLAS layer (and
# OpenBLAS-openmp) take their thread count from OMP_NUM_THREADS
TOMP="OMP_NUM_THREADS=$T"
TARCH="DIFFCORE_BENCH_DUMMY=1"
grep -q avx512f /proc/cpuinfo 2>/dev/null && TARCH="BLIS_ARCH_TYPE=$ARCH"

# ours and the peers alternate per N, so a busy machine hurts both alike
echo "== PixArt block, batch 1, f32, $T threads, $R runs each (N = $NS)"
for n in $NS; do
	ours ours "$n"
	torch torch-plain "$n"
	torch torch-tuned "$n" "$TLIB" "$TOMP" "$TARCH"
done
ours ours -p

echo
echo "== summary (times in ms: min / median; ratio = ours / torch by min time)"
awk -v tuned="$TUNED" -v nt="$T" -v arch_env="$ARCH" '
$1 != "RESULT" { next }
$2 == "peak" { if ($4 != "fma512" && $5 > peak[$3]) peak[$3] = $5; if ($4 == "fma512") fma[$3] = $5; next }
$2 == "blis_arch" { arch[$3] = $4; next }
$2 == "breakdown" { bd[++nb] = sprintf("%-10s %5d: linear %.1f ms, attention %.1f ms, rest %.1f ms (mean per block)", $3, $4, $5, $6, $7); next }
{ mn[$2, $3] = $4; md[$2, $3] = $5; if (NF >= 6) gf[$3] = $6; if (!($3 in ns)) order[++nn] = $3; ns[$3] = 1; labels[$2] = 1 }
function row(o, tp, tt, n,   r1, r2) {
	if (!(o SUBSEP n in mn)) return
	r1 = (tp SUBSEP n in mn) ? sprintf("%.2f", mn[o, n] / mn[tp, n]) : "-"
	r2 = (tt SUBSEP n in mn) ? sprintf("%.2f", mn[o, n] / mn[tt, n]) : "-"
	printf "%-10s %5d %8.1f /%8.1f  %8s /%8s  %8s /%8s  %6s %6s  %6.1f  %5.0f%%\n", o, n,
		mn[o, n], md[o, n],
		(tp SUBSEP n in mn) ? sprintf("%.1f", mn[tp, n]) : "-", (tp SUBSEP n in mn) ? sprintf("%.1f", md[tp, n]) : "-",
		(tt SUBSEP n in mn) ? sprintf("%.1f", mn[tt, n]) : "-", (tt SUBSEP n in mn) ? sprintf("%.1f", md[tt, n]) : "-",
		r1, r2, gf[n] / mn[o, n] * 1e3, 100 * gf[n] / mn[o, n] * 1e3 / peak[o]
}
END {
	printf "%-10s %5s %18s  %18s  %18s  %6s %6s  %6s  %6s\n", "ours", "N", "ours", "torch-plain", "torch-tuned", "/plain", "/tuned", "GFLOP/s", "%BLIS"
	for (i = 1; i <= nn; i++) row("ours", "torch-plain", "torch-tuned", order[i])
	if ("ours-arch" in labels) {
		printf "%-10s %5s %18s  %18s  %18s  %6s %6s  %6s  %6s\n", "", "", "ours", "(same)", "torch-arch", "", "/arch", "", ""
		for (i = 1; i <= nn; i++) row("ours-arch", "-", "torch-arch", order[i])
	}
	for (i = 1; i <= nb; i++) print "breakdown " bd[i]
	for (l in peak) printf "BLIS sgemm peak (%s, kernels %s): %.1f GFLOP/s; AVX-512 FMA loop: %.1f GFLOP/s\n", l, arch[l], peak[l], fma[l]
	printf "torch-tuned: LD_LIBRARY_PATH=%s OMP_NUM_THREADS=%s BLIS_ARCH_TYPE=%s (AVX-512 CPUs)\n", tuned, nt, arch_env
}' "$res"
