#!/bin/sh
# relactrl_table.sh - RelaCtrl's experiment reproduced on the default model:
# the full ControlNet-Transformer (pixart-emoji/controlnet, 4 copied blocks)
# against the RelaCtrl branch placed by our relevance scores
# (pixart-emoji/relactrl), on relevance-score's built-in evaluation set
# (prompt B with the canny edges of picture A).  Runs
# `relevance-score --compare` and prints the README's Markdown table:
# parameters and GFLOPs of each branch (and as a share of the full
# ControlNet's), the time per image and the branch's share of it (over the
# no-control row), the Frechet distance to the model's own uncontrolled
# images of the same prompts (our 28 features, see relevance-score(1)),
# and the control fidelity: Hausdorff distance (pixels) and edge F1.
#
#   tests/bench/relactrl_table.sh                  # 24 items, 20 steps, -t 1
#   COUNT=48 STEPS=20 THREADS=2 tests/bench/relactrl_table.sh
#   CMP_TSV=cmp.tsv tests/bench/relactrl_table.sh  # tabulate a saved --compare TSV
#
# Environment: MODEL (default share/diffcore/models/pixart-emoji), BRANCHES
# (default "$MODEL/controlnet $MODEL/relactrl"; the first is the 100% row),
# COUNT (24), STEPS (20), THREADS (1), B (build dir), CMP_TSV.
# About 90 s on 2 cores with the defaults.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/${B:-build}/bin/relevance-score
MODEL=${MODEL:-$TOP/share/diffcore/models/pixart-emoji}
BRANCHES=${BRANCHES:-"$MODEL/controlnet $MODEL/relactrl"}
if [ -n "${CMP_TSV:-}" ]; then
	tsv=$CMP_TSV
else
	tsv=$(mktemp)
	trap 'rm -f "$tsv"' EXIT
	set --
	for b in $BRANCHES; do set -- "$@" --compare "$b"; done
	"$BIN" -q -t "${THREADS:-1}" --model "$MODEL" --count "${COUNT:-24}" --steps "${STEPS:-20}" \
		"$@" -o "$tsv"
fi
awk -F'\t' -v top="$TOP/" '
/^#/ { sub(/^# /, ""); note = $0; next }
$1 == "branch" { next }
{
	n++; name[n] = $1; kind[n] = $2; blocks[n] = $3; par[n] = $4; gf[n] = $5
	sec[n] = $6; fd[n] = $7; hdd[n] = $8; f1[n] = $9
	sub(top, "", name[n]); sub(/^share\/diffcore\/models\//, "", name[n])
}
END {
	print "| branch | blocks | parameters | GFLOPs / forward | s / image (branch share) | FD to uncontrolled | HDD (px) | edge F1 |"
	print "|---|---|---|---|---|---|---|---|"
	# row 1 is no control; row 2 the full ControlNet (the 100% reference)
	for (i = 1; i <= n; i++) {
		label = kind[i] == "none" ? "no control" : kind[i] " `" name[i] "`"
		if (kind[i] == "none") {
			p = "0"; g = "0"; s = sprintf("%.3f", sec[i])
		} else {
			p = sprintf("%.2f M (%.1f%%)", par[i] / 1e6, 100 * par[i] / par[2])
			g = sprintf("%.3f (%.1f%%)", gf[i], 100 * gf[i] / gf[2])
			s = sprintf("%.3f (+%.3f, %.0f%%)", sec[i], sec[i] - sec[1],
			            100 * (sec[i] - sec[1]) / (sec[2] - sec[1]))
		}
		printf "| %s | %d | %s | %s | %s | %.3f | %.2f | %.3f |\n", label, blocks[i], p, g, s,
		       fd[i], hdd[i], f1[i]
	}
	print ""
	print "(" note "; relevance-score --compare, tests/bench/relactrl_table.sh)"
}' "$tsv"
