#!/bin/sh
# spk.sh - the speaker-embedding benchmark: SpeechBrain ECAPA-TDNN at the
# C=512 shape (channels 512x4 + 1536, attention 128, scale 8, se 128, lin
# 192, 80 mels; 6.19 M parameters), identical seeded random weights and
# features (written once by `bench_spk make` to $BENCH_SPK_DIR), one
# utterance of 300 frames (3 s), f32, batch 1: libdiffcore
# (tests/bench/bench_spk.c) against PyTorch (tests/bench/spk_torch.py:
# SpeechBrain's own ECAPA_TDNN class when $SPEECHBRAIN_SRC or an installed
# speechbrain provides it, else a plain-torch transcription of it) in its
# best configuration on this machine (LD_LIBRARY_PATH at BLIS-openmp,
# OMP_NUM_THREADS, BLIS_ARCH_TYPE=0 on AVX-512 CPUs, torch.set_num_threads,
# inference_mode), in the same run.  Both embed the same features: the
# embedding sums printed must agree.  Then ours with bf16 GEMMs
# (dc_spk_set_precision; AVX512-BF16 where present), whose sums agree to ~3
# digits.  Then the same at 3000 frames (30 s).  Prints min/median ms and
# the ratios torch/ours (the speed-up); asserts nothing about time.
#
# Environment: B (build), BENCH_RUNS (30), BENCH_THREADS (2), BENCH_SPK_C
# (512; 256 is the width of the default spk-ecapa), BENCH_SPK_DIR
# (/tmp/diffcore-bench-spk-cC), SPEECHBRAIN_SRC (.ref/sb/speechbrain when
# present), PYTHON.
B=${B:-build}
R=${BENCH_RUNS:-30}
T=${BENCH_THREADS:-2}
C=${BENCH_SPK_C:-512}
DIR=${BENCH_SPK_DIR:-/tmp/diffcore-bench-spk-c$C}
PY=${PYTHON:-/usr/bin/python3}
LIBDIR=/usr/lib/x86_64-linux-gnu
[ -z "${SPEECHBRAIN_SRC:-}" ] && [ -d .ref/sb/speechbrain ] && SPEECHBRAIN_SRC=$PWD/.ref/sb/speechbrain
export SPEECHBRAIN_SRC

make -s -f tests/bench/Makefile B="$B" "$B/bench/bench_spk" || exit 1
[ -f "$DIR/feats.f32" ] || "$B/bench/bench_spk" make "$DIR" -c "$C" || exit 1
res=$(mktemp) || exit 1
trap 'rm -f "$res"' EXIT INT TERM

TARCH=DIFFCORE_BENCH_DUMMY=1
grep -q avx512f /proc/cpuinfo 2>/dev/null && TARCH=BLIS_ARCH_TYPE=0

for F in 300 3000; do
	echo "== ECAPA-TDNN C=$C, $F frames, f32, $T threads, $R runs each"
	: >"$res"
	DIFFCORE_NUM_THREADS=$T "$B/bench/bench_spk" embed "$DIR" -r "$R" -T "$F" -l ours | tee -a "$res"
	DIFFCORE_NUM_THREADS=$T "$B/bench/bench_spk" embed "$DIR" -r "$R" -T "$F" -l ours-bf16 \
		-p bf16 | tee -a "$res"
	if "$PY" -c 'import torch' 2>/dev/null; then
		env LD_LIBRARY_PATH="$LIBDIR/blis-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
			OMP_NUM_THREADS="$T" "$TARCH" \
			"$PY" tests/bench/spk_torch.py "$DIR" -t "$T" -r "$R" -T "$F" --label torch \
			2>/dev/null | tee -a "$res"
	else
		echo "# no torch for $PY: peer skipped"
	fi
	awk '$1 == "RESULT" { mn[$2] = $4; md[$2] = $5 }
	END { if (("ours" in mn) && ("torch" in mn))
		printf "ours %.2f ms (median %.2f), torch %.2f ms (median %.2f): torch/ours = %.2f (min), %.2f (median)\n",
			mn["ours"], md["ours"], mn["torch"], md["torch"], mn["torch"] / mn["ours"],
			md["torch"] / md["ours"]
	      if (("ours-bf16" in mn) && ("torch" in mn))
		printf "ours-bf16 %.2f ms (median %.2f): torch/ours-bf16 = %.2f (min), %.2f (median)\n",
			mn["ours-bf16"], md["ours-bf16"], mn["torch"] / mn["ours-bf16"],
			md["torch"] / md["ours-bf16"] }' "$res"
done
