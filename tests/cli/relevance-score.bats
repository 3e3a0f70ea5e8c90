#!/usr/bin/env bats
# relevance-score.bats - relevance-score(1) on the tiny random-weight PixArt
# pipeline of tests/golden/pipe/model (32x32 images) with the 1-block
# ControlNet-Transformer of tests/golden/dit/controlnet: the TSV's shape and
# the identities it must hold for one block, determinism, -o and --chart
# (atomic, nothing left on failure), every bad input (one-line error, exit
# 1; usage errors exit 2), and one run on the default model (skipped when
# the tree has none).

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	M="$TOP/tests/golden/pipe/model"
	CN="$TOP/tests/golden/dit/controlnet"
	cd "$BATS_TEST_TMPDIR"
}

# fields ROW FILE: columns 3.. of the row whose first two columns are ROW
fields() {
	awk -F'\t' -v k="$1" '$1 "\t" $2 == k { print $3, $4, $5, $6 }' "$2"
}

@test "TSV: header, one row per block and mode plus all; one block: zero == bypass == all" {
	run --separate-stderr relevance-score --model "$M" --controlnet "$CN" --count 4 --steps 2 -t 1
	assert_success
	printf '%s\n' "$output" > out.tsv
	[ "$(sed -n 1p out.tsv)" = "$(printf 'block\tmode\tdelta_fd\tdelta_hdd\tdelta_f1\tscore')" ]
	[ "$(wc -l < out.tsv)" -eq 4 ]
	[ "$(cut -f1,2 out.tsv | tail -n +2 | tr '\t\n' ' ')" = "0 zero 0 bypass all zero " ]
	# every value a finite number
	tail -n +2 out.tsv | cut -f3- | tr '\t' '\n' | grep -Evq '^-?[0-9.]+(e[-+][0-9]+)?$' && false
	# the only block: zeroing it is control_scale 0, and bypassing it adds nothing either
	[ -n "$(fields "0	zero" out.tsv)" ]
	[ "$(fields "0	zero" out.tsv)" = "$(fields "all	zero" out.tsv)" ]
	[ "$(fields "0	bypass" out.tsv)" = "$(fields "all	zero" out.tsv)" ]
	# the control changes the images: a positive Frechet distance
	awk -F'\t' '$1 == "all" { exit !($3 > 0) }' out.tsv
	# the summary on stderr, and -q silences it
	[[ "$stderr" == "relevance-score: 4 items, 2 steps, 1 control blocks; full ControlNet: HDD "* ]]
	run --separate-stderr relevance-score -q --model "$M" --controlnet "$CN" --count 4 --steps 2 -t 1
	assert_success
	[ -z "$stderr" ]
}

@test "deterministic: the same TSV twice, -o equals stdout; the seed and the set size matter" {
	relevance-score -q --model "$M" --controlnet "$CN" --count 3 --steps 2 > a.tsv
	relevance-score -q --model "$M" --controlnet "$CN" --count 3 --steps 2 -o b.tsv
	cmp a.tsv b.tsv
	relevance-score -q --model "$M" --controlnet "$CN" --count 3 --steps 2 --seed 5 > c.tsv
	! cmp -s a.tsv c.tsv
	relevance-score -q --model "$M" --controlnet "$CN" --count 5 --steps 2 > d.tsv
	! cmp -s a.tsv d.tsv
	# no temporary files left behind
	[ "$(ls -A | sort | tr '\n' ' ')" = "a.tsv b.tsv c.tsv d.tsv " ]
}

@test "--chart writes a 720x360 RGB PNG, the same bytes twice" {
	relevance-score -q --model "$M" --controlnet "$CN" --count 3 --steps 2 --chart c1.png -o t.tsv
	relevance-score -q --model "$M" --controlnet "$CN" --count 3 --steps 2 --chart c2.png > /dev/null
	[ "$(od -An -tx1 -N8 c1.png | tr -d ' ')" = "89504e470d0a1a0a" ]
	# IHDR: width 720 (0x2d0), height 360 (0x168), depth 8, colour type 2
	[ "$(od -An -tx1 -j16 -N10 c1.png | tr -d ' ')" = "000002d0000001680802" ]
	cmp c1.png c2.png
	[ "$(ls -A | sort | tr '\n' ' ')" = "c1.png c2.png t.tsv " ]
}

@test "bad model folders: one-line errors, exit 1, no output" {
	run --separate-stderr relevance-score --model nosuch -o out.tsv
	assert_failure 1
	[[ "$stderr" == "relevance-score: cannot load model 'nosuch': "* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	# a model without a controlnet/
	run --separate-stderr relevance-score --model "$M" -o out.tsv
	assert_failure 1
	[ "$stderr" = "relevance-score: model '$M' has no controlnet/: give --controlnet DIR" ]
	run --separate-stderr relevance-score --model "$M" --controlnet nosuch -o out.tsv
	assert_failure 1
	[[ "$stderr" == "relevance-score: cannot load ControlNet 'nosuch': "* ]]
	# a model without a text encoder
	cp -r "$M" m2
	rm -r m2/text_encoder
	run --separate-stderr relevance-score --model m2 --controlnet "$CN" -o out.tsv
	assert_failure 1
	[[ "$stderr" == "relevance-score: cannot load model 'm2': "* ]]
	# a chart that cannot be written leaves no TSV either
	run --separate-stderr relevance-score -q --model "$M" --controlnet "$CN" --count 2 --steps 1 \
		--chart nodir/c.png -o out.tsv
	assert_failure 1
	[[ "$stderr" == "relevance-score: cannot write 'nodir/c.png': "* ]]
	[ ! -e out.tsv ]
	[ "$(ls -A | grep -v '^separate-stderr-' | tr '\n' ' ')" = "m2 " ]   # bats keeps its own files here
}

@test "no --model and no default model installed: one-line error naming the prefix, exit 1" {
	mkdir -p pfx/bin
	cp "$(command -v relevance-score)" pfx/bin/
	run --separate-stderr pfx/bin/relevance-score -o out.tsv
	assert_failure 1
	[ "$stderr" = "relevance-score: no default model is installed ($PWD/pfx/share/diffcore/models/pixart-emoji); give --model DIR" ]
	[ ! -e out.tsv ]
}

@test "bad options: usage errors, exit 2" {
	for args in "--count 1" "--count 0" "--count x" "--count 1001" "--steps 0" "--steps 1001" \
	            "--steps 2.5" "--bogus" "extra" "--chart="; do
		run --separate-stderr relevance-score --model "$M" --controlnet "$CN" $args
		[ "$status" -eq 2 ] || { echo "$args: status $status: $stderr"; false; }
		[[ "$stderr" == relevance-score:* ]] || { echo "$args: $stderr"; false; }
	done
	run relevance-score --help
	assert_success
	assert_output --partial "usage: relevance-score"
}

@test "the default model: 4 control blocks, 9 rows, deterministic; the last block's modes agree; control helps" {
	[ -r "$TOP/share/diffcore/models/pixart-emoji/controlnet/config.json" ] || skip "no default ControlNet in this tree"
	case "$(command -v relevance-score)" in "$TOP"/build*) ;; *) skip "relevance-score not from this tree's build" ;; esac
	relevance-score -q -t 1 --count 4 --steps 4 -o def.tsv --chart def.png
	relevance-score -q -t 1 --count 4 --steps 4 > again.tsv
	cmp def.tsv again.tsv
	[ "$(wc -l < def.tsv)" -eq 10 ]
	[ "$(fields "3	zero" def.tsv)" = "$(fields "3	bypass" def.tsv)" ]
	[ "$(fields "0	zero" def.tsv)" != "$(fields "0	bypass" def.tsv)" ]
	# removing the whole control lowers edge F1 and raises the Hausdorff distance
	awk -F'\t' '$1 == "all" { exit !($3 > 0 && $4 > 0 && $5 > 0) }' def.tsv
}

@test "--compare: a row for no control and one per branch (ControlNet and RelaCtrl) with costs, time, FD, HDD, F1" {
	RC="$TOP/tests/golden/dit/relactrl"
	relevance-score -q -t 1 --model "$M" --count 3 --steps 2 --compare "$CN" --compare "$RC" -o cmp.tsv
	[ "$(wc -l < cmp.tsv)" -eq 5 ]
	[[ "$(sed -n 1p cmp.tsv)" == "# base transformer blocks: "*" parameters, "*" GFLOPs per forward; 3 items, 2 steps" ]]
	[ "$(sed -n 2p cmp.tsv)" = "$(printf 'branch\tkind\tblocks\tparams\tgflops\tsec_per_image\tfd\thdd\tf1')" ]
	[ "$(tail -n +3 cmp.tsv | cut -f1-3 | tr '\t\n' ' ')" = "- none 0 $CN controlnet 1 $RC relactrl 1 " ]
	# no control costs nothing; each branch has parameters and FLOPs; FD, HDD, F1 are numbers
	awk -F'\t' 'NR == 3 { exit !($4 == 0 && $5 == 0) }' cmp.tsv
	awk -F'\t' 'NR > 3 && !($4 > 0 && $5 > 0) { bad = 1 } END { exit bad }' cmp.tsv
	tail -n +3 cmp.tsv | cut -f6- | tr '\t' '\n' | grep -Evq '^-?[0-9.]+(e[-+][0-9]+)?$' && false
	# a RelaCtrl block costs less than a copied PixArt block
	awk -F'\t' 'NR == 4 { c = $4 } NR == 5 { exit !($4 < c) }' cmp.tsv
	# deterministic apart from the timing column
	relevance-score -q -t 1 --model "$M" --count 3 --steps 2 --compare "$CN" --compare "$RC" > again.tsv
	[ "$(cut -f1-5,7- cmp.tsv)" = "$(cut -f1-5,7- again.tsv)" ]
}

@test "--compare: bad branches and conflicting options" {
	run --separate-stderr relevance-score -q --model "$M" --count 2 --steps 1 --compare /nonexistent -o x.tsv
	assert_failure 1
	[[ "$stderr" == "relevance-score: cannot load control branch '/nonexistent': "* ]]
	[ ! -e x.tsv ]
	for args in "--compare=" "--compare $CN --chart c.png" "--compare $CN --controlnet $CN"; do
		run --separate-stderr relevance-score --model "$M" $args
		[ "$status" -eq 2 ] || { echo "$args: status $status: $stderr"; false; }
		[[ "$stderr" == relevance-score:* ]] || { echo "$args: $stderr"; false; }
	done
}
