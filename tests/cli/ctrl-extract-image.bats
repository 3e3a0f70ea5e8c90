#!/usr/bin/env bats
# ctrl-extract-image.bats - the image conditions of ctrl-extract(1): every
# exact golden case of tests/golden/image/cases.tsv (made by
# tests/golden/make_image.py from cv2 4.6 and the annotators' numpy code) must
# give identical pixels (compared as .npy through tensor-tool); the
# float-blur cases are checked with their tolerance by tests/unit/test_image.c.
# Then determinism, --tensor, --resolution sizes, and bad input: one
# "ctrl-extract: what: why" line, exit 1 (2 for usage), no -o file left.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	G="$TOP/tests/golden/image"
	cd "$BATS_TEST_TMPDIR"
}

# pixels FILE.png: the image as .npy bytes on stdout
pixels() { tensor-tool from-png "$1" | tensor-tool to-npy; }

# golden CONDITION-PATTERN: run every exact case whose args match
golden() {
	local n=0 name case tol args
	while IFS=$'\t' read -r name case tol args; do
		[ "$tol" = "0:0" ] || continue
		case " $args " in *" $1 "*) ;; *) continue ;; esac
		# shellcheck disable=SC2086
		ctrl-extract $args --tensor "$G/$name.png" -o got.dts
		tensor-tool to-npy got.dts > got.npy
		pixels "$G/$name.$case.png" > want.npy
		if ! cmp -s got.npy want.npy; then
			echo "golden $name.$case ($args) differs" >&2
			return 1
		fi
		n=$((n + 1))
	done < "$G/cases.tsv"
	[ "$n" -gt 0 ]
	echo "$n cases"
}

@test "canny: pixel-identical to cv2.Canny (gray, RGB, RGBA; L1 and L2; 4 threshold pairs)" {
	run golden canny
	assert_success
	assert_output --regexp '^(2[4-9]|[3-9][0-9]) cases$'
}

@test "--resolution: resize_image (LANCZOS4 up, AREA down, sides rounded to 64) bit-exact" {
	run golden --resolution
	assert_success
}

@test "shuffle, tile resample, binary (Otsu and fixed), color, gray, invert, mask: exact" {
	for c in shuffle tile binary color gray invert mask; do
		run golden "$c"
		assert_success
	done
}

@test "scribble, lineart, tile blur run and keep the input size" {
	for c in scribble lineart "tile --mode blur"; do
		# shellcheck disable=SC2086
		ctrl-extract $c "$G/coffee.png" --tensor -o o.dts
		run tensor-tool info o.dts
		assert_output --partial "100x150x"
	done
}

@test "lines: a line map of the input size with some white pixels" {
	ctrl-extract lines "$G/chelsea.png" -o l.png
	tensor-tool from-png l.png | tensor-tool info > info
	grep -q '100x150x1' info
	run sh -c "tensor-tool from-png l.png | tensor-tool set -S 15000 | tensor-tool to-csv | grep -c '^255'"
	[ "$output" -gt 20 ]
}

@test "PNG in on stdin, PNG out on stdout; same bytes as with files" {
	ctrl-extract canny < "$G/astronaut.png" > a.png
	ctrl-extract canny "$G/astronaut.png" -o b.png
	cmp a.png b.png
}

@test "--tensor: u8 HWC record, role image.control, condition, parameters and seed" {
	ctrl-extract shuffle --seed 99 --cell 64 "$G/astronaut.png" --tensor -o s.dts
	run tensor-tool info s.dts
	assert_output --partial "control	U8	160x160x3	image.control"
	assert_output --partial "condition=shuffle"
	assert_output --partial "cell=64"
	assert_output --partial "seed=99"
}

@test "shuffle: same seed gives the same bytes, another seed differs" {
	ctrl-extract shuffle --seed 5 "$G/ladybird.png" -o a.png
	ctrl-extract shuffle --seed 5 "$G/ladybird.png" -o b.png
	ctrl-extract shuffle --seed 6 "$G/ladybird.png" -o c.png
	cmp a.png b.png
	! cmp -s a.png c.png
}

@test "thread count does not change the output" {
	ctrl-extract canny -t 1 --resolution 320 "$G/ladybird.png" -o a.png
	ctrl-extract canny -t 2 --resolution 320 "$G/ladybird.png" -o b.png
	cmp a.png b.png
}

@test "--resolution output sizes: 125x200 -> 512x832 (H x W), 160x160 at 64 -> 64x64" {
	ctrl-extract gray --resolution 512 "$G/ladybird.png" --tensor | tensor-tool info > i1
	grep -q '512x832x1' i1
	ctrl-extract gray --resolution 64 "$G/astronaut.png" --tensor | tensor-tool info > i2
	grep -q '64x64x1' i2
}

@test "mask: rectangle and colour key; no alpha channel is an error" {
	ctrl-extract mask --rect 10,20,30,40 "$G/coffee.png" --tensor -o m.dts
	run sh -c "tensor-tool set -S 15000 m.dts | tensor-tool to-csv | grep -c '^255'"
	assert_output 1200
	ctrl-extract mask --key ffffff --tol 0 "$G/horse.png" -o k.png
	run ctrl-extract mask "$G/coffee.png" -o n.png
	assert_failure 1
	assert_output --partial "no alpha channel"
	[ ! -e n.png ]
}

bad() {   # bad EXPECTED-STATUS FILE [args]: fails with one line, no output left
	local want=$1 f=$2; shift 2
	run --separate-stderr ctrl-extract canny "$@" "$f" -o out.png
	assert_failure "$want"
	[ "$(printf '%s\n' "$stderr" | grep -c '^ctrl-extract: ')" -eq 1 ]
	[ ! -e out.png ]
	! ls -A | grep -q 'out\.png'    # neither the file nor its temporary
}

@test "bad input: not a PNG, empty, truncated, 16-bit, huge dimensions" {
	echo hello > bad.txt
	bad 1 bad.txt
	: > bad.empty
	bad 1 bad.empty
	head -c 400 "$G/astronaut.png" > bad.trunc
	bad 1 bad.trunc
	printf 'v\n1\n2\n3\n4\n' | tensor-tool from-csv -T U16 | tensor-tool set -M columns -S 2x2x1 |
		tensor-tool to-png -o bad.16
	bad 1 bad.16
	[[ "$stderr" == *16-bit* ]]
	bad 1 "$G/huge.png"
	bad 1 missing.png
}

@test "bad options: usage errors exit 2" {
	cp "$G/camera.png" in.png
	bad 2 in.png --low abc
	bad 2 in.png --low -5
	bad 2 in.png --sigma 3
	bad 2 in.png --resolution 0
	bad 2 in.png --seed 3
	bad 2 in.png extra.png
	run ctrl-extract tile --mode wobble in.png
	assert_failure 2
	run ctrl-extract tile --mode blur --rate 2 in.png
	assert_failure 2
	run ctrl-extract mask --rect 1,2,3 in.png
	assert_failure 2
	run ctrl-extract mask --key zzzzzz in.png
	assert_failure 2
	run ctrl-extract shuffle --seed 4294967296 in.png -o o.png
	assert_failure 2
	run ctrl-extract nosuch in.png
	assert_failure 2
	assert_output --partial "unknown condition"
}

@test "color: an image smaller than one cell is a clear error" {
	run ctrl-extract color --cell 64 "$G/camera.png" -o c.png
	assert_success
	run ctrl-extract color --cell 200 "$G/camera.png" -o d.png
	assert_failure 1
	assert_output --partial "smaller than one"
	[ ! -e d.png ]
}

@test "top level: --help lists every subcommand, --version, no argument" {
	run ctrl-extract --help
	assert_success
	for c in canny lines scribble lineart shuffle tile binary color gray invert mask melody dynamics rhythm compare; do
		assert_output --partial "$c"
	done
	run ctrl-extract --version
	assert_output --partial "ctrl-extract (diffcore)"
	run ctrl-extract
	assert_failure 2
	run ctrl-extract canny --help
	assert_success
	assert_output --partial "--low"
}
