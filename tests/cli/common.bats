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

@test "binary output to a terminal is refused unless -f" {
	command -v script >/dev/null || skip "no script(1)"
	cd "$BATS_TEST_TMPDIR"
	printf 'a,b\n1,2\n' > t.csv
	run script -qec "tensor-tool from-csv t.csv" /dev/null
	assert_failure 1
	assert_output --partial "tensor-tool: refusing to write binary data to a terminal (use -o FILE or -f)"
	run script -qec "tensor-tool from-csv -f t.csv | head -c 4 | od -c | head -1" /dev/null
	assert_success
	# text output goes to a terminal as usual
	run script -qec "tensor-tool from-csv t.csv -o t.dts && tensor-tool info t.dts" /dev/null
	assert_success
	assert_output --partial "columns=a,b"
}

@test "-o is atomic: a failed run keeps the old file and leaves no temporary" {
	cd "$BATS_TEST_TMPDIR"
	mkdir out
	echo "precious" > out/x.dts
	printf 'not a stream' > bad.dts
	run --separate-stderr tensor-tool cat bad.dts -o out/x.dts
	assert_failure 1
	[ "$(cat out/x.dts)" = precious ]
	[ "$(ls -A out)" = x.dts ]
}

@test "-o to a FIFO or device writes through it and leaves it in place (no rename over it)" {
	cd "$BATS_TEST_TMPDIR"
	printf 'a,b\n1,2\n' | tensor-tool from-csv -o x.dts
	mkfifo pipe
	timeout 20 cat pipe > got.dts &
	tensor-tool cat x.dts -o pipe
	wait
	[ -p pipe ]
	cmp x.dts got.dts
	[ "$(ls -A | sort | tr '\n' ' ')" = "got.dts pipe x.dts " ]
	# /dev/null stays a character device
	tensor-tool cat x.dts -o /dev/null
	[ -c /dev/null ]
}

@test "-o: a run killed by a signal leaves no temporary file" {
	cd "$BATS_TEST_TMPDIR"
	mkdir out
	mkfifo in.fifo
	# a writer that never finishes the stream keeps the tool waiting
	( printf '\x89DTS'; sleep 30 ) > in.fifo &
	writer=$!
	tensor-tool cat in.fifo -o out/y.dts &
	tool=$!
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -n "$(ls -A out)" ] && break
		sleep 0.1
	done
	[ -n "$(ls -A out)" ]   # the temporary exists while it runs
	kill -TERM "$tool"
	wait "$tool" || true
	kill "$writer" 2>/dev/null || true
	[ -z "$(ls -A out)" ]
}

@test "-t precedence: -t over DIFFCORE_NUM_THREADS over OMP_NUM_THREADS" {
	# the same bytes whatever the thread count (counter-based RNG, fixed reductions)
	cd "$BATS_TEST_TMPDIR"
	printf 'a,b\n1,2\n3,4\n' > t.csv
	DIFFCORE_NUM_THREADS=1 tensor-tool from-csv t.csv -o a.dts
	OMP_NUM_THREADS=2 tensor-tool from-csv -t 3 t.csv -o b.dts
	cmp a.dts b.dts
	DIFFCORE_NUM_THREADS=bogus run tensor-tool from-csv t.csv -o c.dts
	assert_success
}
