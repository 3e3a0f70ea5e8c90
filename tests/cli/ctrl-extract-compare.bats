#!/usr/bin/env bats
# ctrl-extract-compare.bats - CLI tests of "ctrl-extract compare" (the METRICS
# section of ctrl-extract(1)): the TSV layout, default metric sets, every
# metric against the golden values of tests/golden/make_metrics.py
# (skimage, scipy, mir_eval, numpy; |diff| <= 1e-6 after the 10 significant
# digits printed), music-control streams built with tensor-tool, the
# examples of the man page, and bad input (exit 1 with one
# "ctrl-extract: ..." line, exit 2 for usage errors, no -o file left).

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	G="$TOP/tests/golden/metrics"
	cd "$BATS_TEST_TMPDIR"
	cp "$G"/*.png "$G"/*.txt "$G"/*.csv .
}

# golden CASE METRIC
golden() {
	awk -F'\t' -v c="$1" -v m="$2" '$1 == c && $2 == m { print $3 }' "$G/expected.tsv"
}

# close GOT WANT: |got - want| <= 1e-6 (relative to max(1, |want|) for the
# 10 printed digits)
close() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; s = b < 0 ? -b : b; if (s < 1) s = 1;
		exit !(d <= 1e-6 * s) }' || { echo "got $1, golden $2" >&2; return 1; }
}

# col OUTPUT LINE COLUMN
col() {
	printf '%s\n' "$1" | awk -F'\t' -v l="$2" -v c="$3" 'NR == l { print $c }'
}

# one-line error and the exit status
fails_with() {
	local st=$1; shift
	run "$@"
	assert_failure "$st"
	[ "${#lines[@]}" -ge 1 ]
	[[ "${lines[0]}" == ctrl-extract:* ]]
	if [ "$st" -eq 1 ]; then [ "${#lines[@]}" -eq 1 ]; fi
}

streams() {
	tensor-tool from-csv -N melody -r control.melody -m frame_rate=100 melody_ref.csv -o m_ref.dts
	tensor-tool from-csv -N melody -r control.melody -m frame_rate=100 melody_cand.csv -o m_cand.dts
	tensor-tool from-csv -N dynamics -r control.dynamics dynamics_ref.csv -o d_ref.dts
	tensor-tool from-csv -N dynamics -r control.dynamics dynamics_cand.csv -o d_cand.dts
	sed 1ibeats beats_ref.txt | tensor-tool from-csv -T F32 -N beats -r control.rhythm.beat_times |
		tensor-tool set -S 40 -o b_ref.dts
	sed 1ibeats beats_est.txt | tensor-tool from-csv -T F32 -N beats -r control.rhythm.beat_times |
		tensor-tool set -S 41 -o b_est.dts
	tensor-tool cat m_ref.dts d_ref.dts b_ref.dts > cond.dts
	tensor-tool cat m_cand.dts d_cand.dts b_est.dts > gen.dts
}

@test "compare: images default to ssim, psnr, rmse; one line per pair with a header" {
	run ctrl-extract compare gray_ref.png gray_cand.png rgb_ref.png rgb_cand.png
	assert_success
	assert_line --index 0 "$(printf 'ref\tcand\tssim\tpsnr\trmse')"
	[ "${#lines[@]}" -eq 3 ]
	[ "$(col "$output" 2 1)" = gray_ref.png ]
	[ "$(col "$output" 3 2)" = rgb_cand.png ]
	close "$(col "$output" 2 3)" "$(golden gray ssim)"
	close "$(col "$output" 2 4)" "$(golden gray psnr)"
	close "$(col "$output" 2 5)" "$(golden gray rmse)"
	close "$(col "$output" 3 3)" "$(golden rgb ssim)"
	close "$(col "$output" 3 4)" "$(golden rgb psnr)"
	close "$(col "$output" 3 5)" "$(golden rgb rmse)"
}

@test "compare: every image metric matches skimage and the MS-SSIM port" {
	for c in gray rgb; do
		run ctrl-extract compare --no-header --metric ssim,ssim-gaussian,ms-ssim,ms-ssim-full,psnr,rmse,mse \
			${c}_ref.png ${c}_cand.png
		assert_success
		[ "${#lines[@]}" -eq 1 ]
		i=3
		for m in ssim ssim-gaussian ms-ssim ms-ssim-full psnr rmse mse; do
			close "$(col "$output" 1 $i)" "$(golden $c $m)"
			i=$((i + 1))
		done
	done
}

@test "compare: edge maps default to f1 and hausdorff; --tolerance" {
	run ctrl-extract compare edge_ref.png edge_cand.png
	assert_success
	assert_line --index 0 "$(printf 'ref\tcand\tf1\thausdorff')"
	close "$(col "$output" 2 3)" "$(golden edge f1)"
	close "$(col "$output" 2 4)" "$(golden edge hausdorff)"
	for k in 1 1.5 2 3; do
		run ctrl-extract compare --no-header --tolerance $k --metric precision,recall,f1 edge_ref.png edge_cand.png
		assert_success
		close "$(col "$output" 1 3)" "$(golden edge_tol$k precision)"
		close "$(col "$output" 1 4)" "$(golden edge_tol$k recall)"
		close "$(col "$output" 1 5)" "$(golden edge_tol$k f1)"
	done
	run ctrl-extract compare --no-header --metric hausdorff sparse_a.png sparse_b.png
	close "$(col "$output" 1 3)" "$(golden sparse hausdorff)"
}

@test "compare: miou of gray and colour label maps, --ignore-index" {
	run ctrl-extract compare --no-header --metric miou label_ref.png label_cand.png labelrgb_ref.png labelrgb_cand.png
	assert_success
	close "$(col "$output" 1 3)" "$(golden label miou)"
	close "$(col "$output" 2 3)" "$(golden labelrgb miou)"
	run ctrl-extract compare --no-header --metric miou --ignore-index 255 label_ref.png label_cand.png
	close "$(col "$output" 1 3)" "$(golden label_ignore255 miou)"
}

@test "compare: beat F1 from text files matches mir_eval, with --beat-trim and --beat-window" {
	run ctrl-extract compare beats_ref.txt beats_est.txt
	assert_success
	assert_line --index 0 "$(printf 'ref\tcand\tbeat-f1')"
	close "$(col "$output" 2 3)" "$(golden beats beat-f1)"
	run ctrl-extract compare --no-header --beat-trim 5 beats_ref.txt beats_est.txt
	close "$(col "$output" 1 3)" "$(golden beats_trim5 beat-f1)"
	run ctrl-extract compare --no-header --beat-window 0.05 beats_ref.txt beats_est.txt
	close "$(col "$output" 1 3)" "$(golden beats_w50 beat-f1)"
}

@test "compare: music control streams (melody, dynamics, beat times)" {
	streams
	run ctrl-extract compare cond.dts gen.dts
	assert_success
	assert_line --index 0 "$(printf 'ref\tcand\tmelody-acc\tdynamics-r\tbeat-f1')"
	close "$(col "$output" 2 3)" "$(golden melody melody-acc)"
	close "$(col "$output" 2 4)" "$(golden dynamics dynamics-r)"
	close "$(col "$output" 2 5)" "$(golden beats beat-f1)"
	# a stream against a text file of beats
	run ctrl-extract compare --no-header --metric beat-f1 cond.dts beats_est.txt
	close "$(col "$output" 1 3)" "$(golden beats beat-f1)"
	# frame rates must agree
	tensor-tool from-csv -N melody -r control.melody -m frame_rate=50 melody_cand.csv -o m50.dts
	fails_with 1 ctrl-extract compare --metric melody-acc m_ref.dts m50.dts
	assert_output --partial "frame rates differ"
}

@test "compare: --pairs, -o and awk in a pipeline" {
	printf 'gray_ref.png\tgray_cand.png\n# comment\n\nrgb_ref.png\trgb_cand.png\n' > pairs.tsv
	run ctrl-extract compare --pairs pairs.tsv -o scores.tsv
	assert_success
	[ -z "$output" ]
	[ "$(wc -l < scores.tsv)" -eq 3 ]
	run sh -c "awk -F'\t' 'NR > 1 { print \$1, \$3 }' scores.tsv | sort -k2 -g | head -1"
	assert_output "gray_ref.png $(awk -F'\t' 'NR == 2 { print $3 }' scores.tsv)"
	# the same numbers as positional arguments, and for any thread count
	ctrl-extract compare -t 1 gray_ref.png gray_cand.png rgb_ref.png rgb_cand.png > pos.tsv
	cmp pos.tsv scores.tsv
	ctrl-extract compare -t 2 --pairs pairs.tsv | cmp - scores.tsv
	# stdin as one input
	ctrl-extract compare --no-header - gray_cand.png < gray_ref.png | cut -f3- > a
	ctrl-extract compare --no-header gray_ref.png gray_cand.png | cut -f3- > b
	cmp a b
}

@test "compare: identical images give psnr inf and ssim 1" {
	run ctrl-extract compare --no-header gray_ref.png gray_ref.png
	assert_success
	[ "$(col "$output" 1 3)" = 1 ]
	[ "$(col "$output" 1 4)" = inf ]
	[ "$(col "$output" 1 5)" = 0 ]
}

@test "compare: the man page examples run" {
	cp gray_ref.png ref.png; cp gray_cand.png gen.png
	cp edge_ref.png edges_ref.png; cp edge_cand.png edges_gen.png
	printf 'edges_ref.png\tedges_gen.png\nedges_ref.png\tedges_ref.png\n' > pairs.tsv
	streams
	man="$TOP/man/man1/ctrl-extract.1"
	sed -n '/begin: examples/,/end: examples/p' "$man" |
		sed -n '/^\.\\" compare-example/,/^\.fi/p' | grep '^\$ ctrl-extract compare' | sed 's/^\$ //; s/\\e/\\/g' > ex.sh
	[ "$(wc -l < ex.sh)" -ge 3 ]
	run sh -e ex.sh
	assert_success
	[[ "$output" == *ssim* ]]
	[[ "$output" == *melody-acc* ]]
}

@test "compare: bad inputs fail with one message and exit 1" {
	printf 'hello\n' > bad.png
	fails_with 1 ctrl-extract compare bad.png gray_ref.png
	assert_output "ctrl-extract: cannot read 'bad.png': not a PNG file"
	fails_with 1 ctrl-extract compare gray_ref.png rgb_ref.png
	assert_output --partial "is 201x183 but 'rgb_ref.png' is 180x177"
	fails_with 1 ctrl-extract compare gray_ref.png missing.png
	assert_output --partial "'missing.png'"
	: > empty.tsv
	fails_with 1 ctrl-extract compare --pairs empty.tsv
	assert_output "ctrl-extract: cannot read 'empty.tsv': no pairs"
	printf 'a.png b.png\n' > nospace.tsv
	fails_with 1 ctrl-extract compare --pairs nospace.tsv
	assert_output --partial "line 1: expected 'REF<TAB>CAND'"
	head -c 100 gray_ref.png > trunc.png
	fails_with 1 ctrl-extract compare trunc.png gray_cand.png
	fails_with 1 ctrl-extract compare gray_ref.png beats_ref.txt
	fails_with 1 ctrl-extract compare --metric f1 beats_ref.txt beats_est.txt
	assert_output --partial "f1 needs two images"
	fails_with 1 ctrl-extract compare --metric ms-ssim edge_ref.png edge_cand.png
	assert_output --partial "too small"
	printf '1.0\n0.5\n' > unsorted.txt
	fails_with 1 ctrl-extract compare unsorted.txt beats_ref.txt
	assert_output --partial "increasing order"
	printf '1.0\nabc\n' > notnum.txt
	fails_with 1 ctrl-extract compare notnum.txt beats_ref.txt
	assert_output "ctrl-extract: cannot read 'notnum.txt': line 2: not a beat time"
	# no -o file left behind after a failure in a later pair
	fails_with 1 ctrl-extract compare -o out.tsv gray_ref.png gray_cand.png bad.png gray_ref.png
	[ ! -e out.tsv ]
	[ -z "$(ls -A | grep '^\.out')" ]
}

@test "compare: usage errors exit 2" {
	fails_with 2 ctrl-extract compare gray_ref.png
	assert_output --partial "odd number of inputs"
	fails_with 2 ctrl-extract compare a b c
	fails_with 2 ctrl-extract compare
	fails_with 2 ctrl-extract compare --metric nope a b
	assert_output --partial "unknown metric 'nope'"
	fails_with 2 ctrl-extract compare --tolerance -1 a b
	fails_with 2 ctrl-extract compare - -
	run ctrl-extract compare --help
	assert_success
	assert_output --partial "usage: ctrl-extract compare"
}
