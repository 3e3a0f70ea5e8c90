#!/bin/sh
# vae.sh - the SD-VAE decode benchmark: AutoencoderKL decoder at the
# sd-vae-ft-ema shape (block_out_channels 128,256,512,512, layers_per_block
# 2, 32 groups), identical seeded random weights (written once by
# `bench_vae make` to $BENCH_VAE_DIR), one 64x64 latent -> 512x512 image,
# f32, batch 1: libdiffcore (tests/bench/bench_vae.c) against PyTorch
# (tests/bench/vae_torch.py, a plain-torch transcription of diffusers'
# decoder run by /usr/bin/python3) in its best configuration on this
# machine (LD_LIBRARY_PATH at BLIS-openmp, OMP_NUM_THREADS, BLIS_ARCH_TYPE=0
# on AVX-512 CPUs, torch.set_num_threads), in the same run.  Both decode the
# same latent; the image means printed must agree.  Then the tiled decode
# of a 128x128 latent (1024^2 image, diffusers' tiling: 32-latent tiles,
# overlap 0.25) with its time and peak RSS (BENCH_VAE_TILED=0 skips it; it
# is ~2x the work of an untiled 1024^2 decode, minutes on 2 cores).
# Prints min/median ms and the ratio ours/torch; asserts nothing about time.
#
# Environment: B (build), BENCH_RUNS (3), BENCH_VAE_LAT (64), BENCH_THREADS
# (2), BENCH_VAE_DIR (/tmp/diffcore-bench-vae), BENCH_VAE_TILED (1), PYTHON.
B=${B:-build}
R=${BENCH_RUNS:-3}
LAT=${BENCH_VAE_LAT:-64}
T=${BENCH_THREADS:-2}
DIR=${BENCH_VAE_DIR:-/tmp/diffcore-bench-vae}
PY=${PYTHON:-/usr/bin/python3}
LIBDIR=/usr/lib/x86_64-linux-gnu

make -s -f tests/bench/Makefile B="$B" "$B/bench/bench_vae" || exit 1
[ -f "$DIR/diffusion_pytorch_model.safetensors" ] || "$B/bench/bench_vae" make "$DIR" || exit 1
res=$(mktemp) || exit 1
trap 'rm -f "$res"' EXIT INT TERM

TARCH=DIFFCORE_BENCH_DUMMY=1
grep -q avx512f /proc/cpuinfo 2>/dev/null && TARCH=BLIS_ARCH_TYPE=0

echo "== SD-VAE decode, ${LAT}x${LAT} latent, f32, $T threads, $R runs each"
DIFFCORE_NUM_THREADS=$T "$B/bench/bench_vae" decode "$DIR" -r "$R" -s "$LAT" -l ours | tee -a "$res"
if "$PY" -c 'import torch' 2>/dev/null; then
	env LD_LIBRARY_PATH="$LIBDIR/blis-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		OMP_NUM_THREADS="$T" "$TARCH" \
		"$PY" tests/bench/vae_torch.py "$DIR" -t "$T" -r "$R" -s "$LAT" --label torch | tee -a "$res"
else
	echo "# no torch for $PY: peer skipped"
fi
awk '$1 == "RESULT" { mn[$2] = $4; md[$2] = $5; pk[$2] = $6 }
END { if (("ours" in mn) && ("torch" in mn))
	printf "ours %.0f ms (peak %d MiB), torch %.0f ms (peak %d MiB): ours/torch = %.2f\n",
		mn["ours"], pk["ours"], mn["torch"], pk["torch"], mn["ours"] / mn["torch"] }' "$res"

if [ "${BENCH_VAE_TILED:-1}" != 0 ]; then
	echo
	echo "== tiled decode, 128x128 latent -> 1024x1024 (tile 32 latents = 256 px, overlap 0.25)"
	DIFFCORE_NUM_THREADS=$T "$B/bench/bench_vae" tiled "$DIR" -s 128 -T 32 -l ours-tiled
fi
