#!/usr/bin/env bats
# common.bats - the conventions of diffcore(7) that every tool shares:
# --help, --version, usage errors (exit 2), -t and --seed validation,
# binary output refused on a terminal, atomic -o.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

tools() {
	for t in "$DC_TOP"/build/bin/*; do [ -x "$t" ] && basename "$t"; done
	# under SANITIZE the tools live in build/san/bin, first on PATH
}

setup() {
	TOOLS=$(for d in $(echo "$PATH" | tr ':' ' '); do
		case $d in "$DC_TOP"/build*/bin) ls "$d"; break ;; esac; done)
	[ -n "$TOOLS" ] || skip "no tools built"
}

@test "every tool: --help prints usage on stdout and exits 0" {
	for t in $TOOLS; do
		run --separate-stderr "$t" --help
		assert_success
		assert_output --partial "usage: $t"
		[ -z "$stderr" ]
	done
}

@test "every tool: --version names the tool and the diffcore version" {
	for t in $TOOLS; do
		run "$t" --version
		assert_success
		assert_output "$t (diffcore) 0.1.0"
	done
}

@test "every tool: unknown option is a usage error, exit 2" {
	for t in $TOOLS; do
		run --separate-stderr "$t" --no-such-option
		assert_failure 2
		[[ "$stderr" == *"$t"* ]]
		[[ "$stderr" == *"--help"* ]]
	done
}

@test "every tool: invalid -t and --seed values are usage errors" {
	for t in $TOOLS; do
		run --separate-stderr "$t" -t 0 --help
		assert_failure 2
		[[ "$stderr" == "$t: invalid value for --threads: '0'"* ]]
		run --separate-stderr "$t" --threads=abc --help
		assert_failure 2
		run --separate-stderr "$t" --seed -5 --help
		assert_failure 2
		[[ "$stderr" == "$t: invalid value for --seed: '-5'"* ]]
		run "$t" -t 2 --seed 0x10 --help
		assert_success
	done
}
