#!/usr/bin/env bats
# ctrl-extract-examples.bats - runs every example of ctrl-extract(1)'s
# EXAMPLES section, as extracted from the man page itself (so examples added
# later are tested too): each line of an .EX/.EE block is a command, and in
# .nf/.fi blocks each line starting with "$ " is a command (the other lines
# are sample output and are not compared).  Commands run with bash in a
# directory holding these fixtures:
#   photo.png, in.png, ref.png, gen.png  small photos (tests/golden/image)
#   song.wav, song2.wav                  4 s of 22.05 kHz tones and clicks
#   pairs.tsv                            "ref.png<TAB>gen.png"
#   cond.dts, gen.dts                    melody+dynamics+rhythm of the songs
# and the same .png files in *.png form for the loop examples.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	MAN="$TOP/man/man1/ctrl-extract.1"
	G="$TOP/tests/golden/image"
	cd "$BATS_TEST_TMPDIR"
}

# examples: the commands, one per line, groff escapes undone
examples() {
	awk '
		/^\.SH EXAMPLES/ { in_ex = 1; next }
		/^\.SH / { in_ex = 0 }
		!in_ex { next }
		/^\.EX/ { blk = "ex"; next }
		/^\.EE/ { blk = ""; next }
		/^\.nf/ { blk = "nf"; next }
		/^\.fi/ { blk = ""; next }
		/^\.\\"/ { next }
		blk == "ex" && !/^\./ { print; next }
		blk == "nf" && /^\$ / { print substr($0, 3) }
	' "$MAN" | sed -e 's/\\(aq/'"'"'/g' -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\\\/\\/g'
}

song() {  # song FILE FREQ: 4 s of a tone with a click every 0.5 s
	awk -v f="$2" 'BEGIN { print "v"; sr = 22050;
		for (i = 0; i < 4 * sr; i++) { t = i / sr; v = 0.3 * sin(2 * 3.14159265 * f * t);
			if (i % (sr / 2) < 200) v += 0.5 * (1 - (i % (sr / 2)) / 200);
			printf "%.5f\n", v } }' |
		tensor-tool from-csv -T F32 | tensor-tool set -M columns -S 88200x1 |
		tensor-tool to-wav -R 22050 -o "$1"
}

fixtures() {
	cp "$G/ladybird.png" photo.png
	cp "$G/coffee.png" in.png
	cp "$G/astronaut.png" ref.png
	cp "$G/astronaut.tile_blur.png" gen.png
	printf 'ref.png\tgen.png\n' > pairs.tsv
	song song.wav 440
	song song2.wav 523.25
	local s
	for s in song song2; do
		ctrl-extract melody $s.wav -o m.dts
		ctrl-extract dynamics $s.wav -o d.dts
		ctrl-extract rhythm $s.wav -o r.dts
		tensor-tool cat m.dts d.dts r.dts > $s.dts
	done
	mv song.dts cond.dts
	mv song2.dts gen.dts
	rm -f m.dts d.dts r.dts
}

@test "the man page has examples, and ctrl-extract's own are among them" {
	run examples
	assert_success
	[ "${#lines[@]}" -ge 5 ]
	assert_output --partial "ctrl-extract canny"
}

@test "every EXAMPLES command runs successfully" {
	fixtures
	local n=0 cmd
	while IFS= read -r cmd; do
		n=$((n + 1))
		run bash -o pipefail -c "$cmd"
		if [ "$status" -ne 0 ]; then
			echo "example $n failed (status $status): $cmd" >&2
			echo "$output" >&2
			return 1
		fi
	done < <(examples)
	[ "$n" -ge 5 ]
	# the image examples left their outputs
	[ -s canny.png ] && [ -s canny.dts ] && [ -s shuffle.png ] && [ -s mask.png ]
}
