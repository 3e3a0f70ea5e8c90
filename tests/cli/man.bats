#!/usr/bin/env bats
# man.bats - every page under man/ formats without a groff warning (-ww: all
# of them, "table wider than line width" included) at the line length man(1)
# uses on an 80-column terminal, and names its tool's options: each long
# option a tool's --help lists appears in its page.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
}

# missing HELPTEXT PAGE: the long options of HELPTEXT (its "common" line
# aside: diffcore(7) documents those) that PAGE never mentions
missing() {
	for o in $(printf '%s\n' "$1" | grep -v -i '^ *common' | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		sed 's/\\-/-/g' "$2" | grep -qE -- "$o([^a-z0-9-]|\$)" || printf ' %s' "$o"
	done
}

@test "every man page formats without warnings at 80 columns" {
	n=0
	for f in "$TOP"/man/man*/*.[1-9]; do
		run -0 groff -t -man -Tutf8 -ww -rLL=78n -z "$f"
		[ -z "$output" ] || { echo "$f: $output"; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 10 ]
}

@test "the width check sees a table that is too wide" {
	printf '.TH X 1\n.SH T\n.TS\nl l.\n%s\t%s\n.TE\n' "$(printf 'w%.0s' $(seq 60))" "$(printf 'v%.0s' $(seq 30))" > "$BATS_TEST_TMPDIR/x.1"
	run -0 groff -t -man -Tutf8 -ww -rLL=78n -z "$BATS_TEST_TMPDIR/x.1"
	assert_output --partial 'table wider than line width'
}

@test "each tool's page names every option its --help lists" {
	for t in ctrl-extract dit-gen relevance-score spk-embed tensor-tool ts-forecast tts-synth; do
		run -0 "$t" --help
		m=$(missing "$output" "$TOP/man/man1/$t.1")
		[ -z "$m" ] || { echo "$t.1 lacks:$m"; false; }
	done
}

@test "the option check sees an option a page lacks" {
	printf '.TH X 1\n.B \\-\\-speed\n' > "$BATS_TEST_TMPDIR/x.1"
	run missing "options: --speed F  --speedy N" "$BATS_TEST_TMPDIR/x.1"
	assert_output ' --speedy'
}
