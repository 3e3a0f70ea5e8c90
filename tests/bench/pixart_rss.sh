#!/bin/sh
# pixart_rss.sh - memory of a real-size checkpoint: a PixArt-XL-2-1024-MS-
# shaped transformer folder (611 M parameters, synthetic weights written by
# make_pixart_xl.py) in bf16, opened and run for one 1024x1024 forward
# (128x128 latents, batch 2 = the CFG pair, 120 tokens) by
# bench_pixart_rss.c.  Prints the peak RSS after opening and after the
# forward: bf16 weights stay in the mmapped file (about 1.2 GB, counted in
# RSS as the pages are read) and are converted to f32 one block at a time,
# so the peak stays near file + activations, never file + 2.4 GB of f32.
# Environment: B (build dir), T (threads, 2), PYTHON (/usr/bin/python3), BENCH_TMP (folder for the
# 1.2 GB checkpoint; removed afterwards).
set -eu
B=${B:-build}
T=${T:-2}
make -s -f tests/bench/Makefile B="$B" "$B/bench/bench_pixart_rss"
dir=${BENCH_TMP:-${TMPDIR:-/tmp}}/diffcore-pixart-xl.$$
trap 'rm -rf "$dir"' EXIT INT TERM
${PYTHON:-/usr/bin/python3} tests/bench/make_pixart_xl.py "$dir" bf16
echo "PixArt-XL-2-1024-MS shape, bf16 checkpoint ($(du -m "$dir"/*.safetensors | cut -f1) MB), $T threads"
"$B/bench/bench_pixart_rss" "$dir" 128 "$T"
