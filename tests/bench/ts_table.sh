#!/bin/sh
# ts_table.sh - the lookback-96 accuracy table: `ts-forecast eval` for each
# model, dataset and horizon with the authors' per-dataset settings, next to
# the published numbers.
#
#   tests/bench/ts_table.sh                      # iTransformer and DLinear, 5 datasets, 4 horizons
#   MODELS=PatchTST DATASETS=ETTh1 HORIZONS=96 tests/bench/ts_table.sh
#   EVAL_TSV=lines.tsv tests/bench/ts_table.sh   # tabulate eval lines already measured
#   SEEDS="2021 2022 2023" MODELS=Autoformer DATASETS=ETTh1 HORIZONS=96 tests/bench/ts_table.sh
#
# Prints one TSV line per run:
#   model dataset horizon mse mae paper_mse paper_mae ratio seconds seed
# mse and mae to six decimals (as ts_runs.tsv takes them); ratio = our MSE /
# the paper's MSE (below 1: better than published); "-" where no paper
# number exists (NLinear).  Scores are on the scaled data,
# every test window (drop_last=False), seed 2021 unless SEED is set (SEEDS:
# a run for each seed in the list; seed is "-" for EVAL_TSV lines).
#
# Settings (Time-Series-Library @ 4e938a1 scripts/long_term_forecast/*, and
# thuml/iTransformer scripts/multivariate_forecasting/* for iTransformer; lr
# 1e-4, batch 32, 10 epochs, patience 3, type1 unless listed):
#   iTransformer  e_layers 2; d_model = d_ff = 256 (ETTh1 H96/192), 512 (ETTh1
#                 H336/720), 128 elsewhere; Exchange H336 train_epochs 1
#   PatchTST      TSLib per-dataset e_layers / n_heads / batch_size (below);
#                 d_model 512, d_ff 2048; Exchange H336 train_epochs 1
#   DLinear       moving_avg 25, lr 1e-3 (ts-forecast's default: TSLib's 1e-4
#                 leaves it under-trained after 10 halving epochs)
#   Informer, Autoformer  e_layers 2, d_layers 1, factor 3; Autoformer
#                 Exchange H192/336 train_epochs 1
# A run measured for ts-forecast(1)'s ACCURACY tables goes into ts_runs.tsv
# (with its seed, threads and machine); ts_accuracy.sh makes the tables.
# Published numbers: tests/bench/ts_published.tsv (the iTransformer paper's
# Table 10 and LTSF-Linear's lookback-96 benchmark; sources there).
#
# Environment: MODELS, DATASETS (file stems in TS_DATA: ETTh1 ETTh2 ETTm1
# ETTm2 exchange_rate, .csv or .csv.gz), HORIZONS, THREADS (2), JOBS (1: runs
# at once, each on THREADS threads; the lines still come in order; measure
# before splitting a machine: on a 16-CPU Xeon VM two 8-thread Informer ETTh2
# runs at once did not finish a second epoch in 10 minutes, then one alone
# ran three epochs in 11), SEED (2021),
# TS_DATA (../shared/data/ts), B (build dir, default build), EVAL_TSV,
# CKPT_DIR (each run checkpointed there: an interrupted table, run again,
# resumes each unfinished run where it stopped; see ts-forecast(1)), LOG_DIR
# (each run's training curve there, MODEL-DATASET-H-sSEED.tsv: --log).
# Time on 2 cores: DLinear all 20 runs ~4 min; iTransformer ~1 h; PatchTST
# ~15 min per ETTh1 run; Informer/Autoformer ~18-19 min per ETTh1 H96 run.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/${B:-build}/bin/ts-forecast
D=${TS_DATA:-$TOP/../shared/data/ts}
MODELS=${MODELS:-iTransformer DLinear}
DATASETS=${DATASETS:-ETTh1 ETTh2 ETTm1 ETTm2 exchange_rate}
HORIZONS=${HORIZONS:-96 192 336 720}
THREADS=${THREADS:-2}
JOBS=${JOBS:-1}
SEED=${SEED:-2021}
SEEDS=${SEEDS:-$SEED}

# paper MODEL DATASET H -> "mse mae" or "- -"
paper() {
	awk -F'\t' -v m="$1" -v d="$2" -v h="$3" '$1 == m && $2 == d && $3 == h { print $4, $5; f = 1 }
		END { if (!f) print "-", "-" }' "$TOP/tests/bench/ts_published.tsv"
}

# settings MODEL DATASET H -> extra ts-forecast options (the authors' scripts)
settings() {
	case $1 in
	iTransformer)
		case $2 in
		ETTh1) if [ "$3" -le 192 ]; then echo "--d-model 256 --d-ff 256"; else echo "--d-model 512 --d-ff 512"; fi ;;
		exchange_rate) if [ "$3" = 336 ]; then echo "--d-model 128 --d-ff 128 --epochs 1"; else echo "--d-model 128 --d-ff 128"; fi ;;
		*) echo "--d-model 128 --d-ff 128" ;;
		esac ;;
	PatchTST)
		case $2:$3 in
		ETTh1:96) echo "--e-layers 1 --n-heads 2" ;;
		ETTh1:192 | ETTh1:336) echo "--e-layers 1 --n-heads 8" ;;
		ETTh1:720) echo "--e-layers 1 --n-heads 16" ;;
		ETTh2:*) echo "--e-layers 3 --n-heads 4" ;;
		ETTm1:96) echo "--e-layers 1 --n-heads 2 --batch-size 32" ;;
		ETTm1:192) echo "--e-layers 3 --n-heads 2 --batch-size 128" ;;
		ETTm1:336) echo "--e-layers 1 --n-heads 4 --batch-size 128" ;;
		ETTm1:720) echo "--e-layers 3 --n-heads 4 --batch-size 128" ;;
		ETTm2:96) echo "--e-layers 3 --n-heads 16 --batch-size 32" ;;
		ETTm2:192) echo "--e-layers 3 --n-heads 2 --batch-size 128" ;;
		ETTm2:336) echo "--e-layers 1 --n-heads 4 --batch-size 32" ;;
		ETTm2:720) echo "--e-layers 3 --n-heads 4 --batch-size 128" ;;
		exchange_rate:336) echo "--e-layers 2 --n-heads 8 --epochs 1" ;;
		exchange_rate:*) echo "--e-layers 2 --n-heads 8" ;;
		esac ;;
	Autoformer)
		case $2:$3 in
		exchange_rate:192 | exchange_rate:336) echo "--epochs 1" ;;
		esac ;;
	esac
}

# tab MODEL DATASET H MSE MAE SECONDS SEED: one output line
tab() {
	# shellcheck disable=SC2046 # paper's two words become $8 and $9
	set -- "$1" "$2" "$3" "$4" "$5" "$6" "$7" $(paper "$1" "$2" "$3")
	awk -v OFS='\t' -v m="$1" -v d="$2" -v h="$3" -v mse="$4" -v mae="$5" -v s="$6" -v seed="$7" \
		-v pm="$8" -v pa="$9" \
		'BEGIN { r = pm == "-" ? "-" : sprintf("%.3f", mse / pm);
		print m, d, h, sprintf("%.6f", mse), sprintf("%.6f", mae), pm, pa, r, s, seed }'
}

# one MODEL DATASET FILE H SEED: run ts-forecast eval, print the table line
one() {
	ck=
	[ -z "${CKPT_DIR:-}" ] || ck="--checkpoint $CKPT_DIR/$1-$2-$4-s$5-t$THREADS.ckpt"
	[ -z "${LOG_DIR:-}" ] || ck="$ck --log $LOG_DIR/$1-$2-$4-s$5.tsv"
	# shellcheck disable=SC2046,SC2086 # settings are several words, $ck up to four
	line=$("$BIN" eval -q --no-header -t "$THREADS" --seed "$5" --model "$1" --horizon "$4" \
		$(settings "$1" "$2" "$4") $ck "$3" < /dev/null) || return 1
	m=$1 d=$2 h=$4 seed=$5
	# shellcheck disable=SC2086 # the eval line's fields become $1..$7
	set -- $line
	tab "$m" "$d" "$h" "$5" "$6" "$7" "$seed"
}

# a parallel worker (JOBS > 1): --one TMPDIR INDEX MODEL DATASET FILE H SEED
if [ "${1:-}" = --one ]; then
	one "$4" "$5" "$6" "$7" "$8" > "$2/$3.part" && mv "$2/$3.part" "$2/$3"
	exit
fi

printf 'model\tdataset\thorizon\tmse\tmae\tpaper_mse\tpaper_mae\tratio\tseconds\tseed\n'
if [ -n "${EVAL_TSV:-}" ]; then
	# eval lines: model data seq_len horizon mse mae seconds (header lines skipped)
	awk -F'\t' '$1 != "model" && NF >= 7 { n = split($2, p, "/"); d = p[n]; sub(/\.csv(\.gz)?$/, "", d);
		print $1, d, $4, $5, $6, $7 }' "$EVAL_TSV" | while read -r m d h mse mae s; do
		tab "$m" "$d" "$h" "$mse" "$mae" "$s" -
	done
	exit 0
fi
[ -x "$BIN" ] || { echo "ts_table: no $BIN (make first)" >&2; exit 1; }
# the runs, one "model dataset file horizon seed" line each
runs=$(for m in $MODELS; do
	for d in $DATASETS; do
		f=$D/$d.csv
		[ -r "$f" ] || f=$D/$d.csv.gz
		[ -r "$f" ] || { echo "ts_table: no $D/$d.csv[.gz], skipped" >&2; continue; }
		for h in $HORIZONS; do
			for seed in $SEEDS; do
				echo "$m $d $f $h $seed"
			done
		done
	done
done)
if [ "$JOBS" -le 1 ]; then
	echo "$runs" | while read -r m d f h seed; do
		[ -z "$m" ] || one "$m" "$d" "$f" "$h" "$seed"
	done
	exit 0
fi
# JOBS at once, each on THREADS threads; lines printed in the runs' order
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
echo "$runs" | awk 'NF { print NR, $0 }' | xargs -P "$JOBS" -L 1 sh "$0" --one "$tmp" || rc=$?
echo "$runs" | awk 'NF { print NR }' | while read -r i; do
	[ ! -s "$tmp/$i" ] || cat "$tmp/$i"
done
[ -z "${rc:-}" ] || { echo "ts_table: a run failed" >&2; exit 1; }
