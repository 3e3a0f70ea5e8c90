#!/usr/bin/env bats
# tensor-tool.bats - CLI tests of tensor-tool(1) and the stream format of
# diffcore-stream(5): byte-exact round trips through .npy, CSV, PNG and WAV,
# info/cat/pick/split/set, and bad input (each must fail with exit 1, one
# "tensor-tool: what: why" line on stderr and no -o file left behind).
# Inputs are generated here with printf/awk and the tool itself; the
# crafted bad streams with valid CRCs come from "test_stream --gen KIND".

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	BIN=$(dirname "$(command -v tensor-tool)")
	GEN="$BIN/../tests/test_stream"
	GOLD="$TOP/tests/golden/npy"
	cd "$BATS_TEST_TMPDIR"
}

# table N: a one-column CSV with N deterministic integers 0..255
table() {
	awk -v n="$1" -v m="${2:-256}" 'BEGIN { print "v"; for (i = 0; i < n; i++) print (i * 37 + 11) % m }'
}

# mkstream FILE DTYPE SHAPE [set options...]: a record with N=prod(SHAPE) values
mkstream() {
	local f=$1 dt=$2 shape=$3; shift 3
	local n=1 d
	for d in ${shape//x/ }; do n=$((n * d)); done
	table "$n" "${MOD:-256}" | tensor-tool from-csv -T "$dt" | tensor-tool set -M columns -S "$shape" "$@" -o "$f"
}

# flip FILE OFFSET: xor one byte with 0x01
flip() {
	local b
	b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	printf "\\x$(printf %02x $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# bad_input FILE PATTERN: info and to-npy -o both fail cleanly
bad_input() {
	run -1 --separate-stderr tensor-tool info "$1"
	[ "${#stderr_lines[@]}" -eq 1 ] || { echo "stderr: $stderr"; return 1; }
	[[ "${stderr_lines[0]}" =~ ^tensor-tool:\ cannot\ read\ \'$1\':\ .*$2 ]] || { echo "stderr: $stderr"; return 1; }
	mkdir -p outdir
	run -1 --separate-stderr tensor-tool to-npy -o outdir/out.npy "$1"
	[ "${#stderr_lines[@]}" -eq 1 ] || { echo "stderr: $stderr"; return 1; }
	[[ "${stderr_lines[0]}" =~ ^tensor-tool:\ [a-z].*:\ .*$2 ]] || { echo "stderr: $stderr"; return 1; }
	[ -z "$(ls -A outdir)" ] || { echo "left behind: $(ls -A outdir)"; return 1; }
	# stdin too
	run -1 --separate-stderr tensor-tool info < "$1"
	[[ "${stderr_lines[0]}" =~ ^tensor-tool:\ cannot\ read\ \'stdin\':\ .*$2 ]] || { echo "stderr: $stderr"; return 1; }
}

# ---- usage ------------------------------------------------------------------

@test "--help prints the synopsis on stdout and exits 0" {
	run -0 --separate-stderr tensor-tool --help
	assert_line --index 0 'usage: tensor-tool [-fhq] [-o file] command [argument ...]'
	assert_line --partial 'tensor-tool pick [-i file] name|index ...'
	[ -z "$stderr" ]
}

@test "--version exits 0" {
	run -0 tensor-tool --version
	assert_output --regexp '^tensor-tool \(diffcore\) [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "unknown subcommand is a usage error (exit 2)" {
	run -2 --separate-stderr tensor-tool frobnicate
	[[ "${stderr_lines[0]}" == "tensor-tool: unknown command 'frobnicate'" ]]
	run -2 tensor-tool
	run -2 tensor-tool --bogus info
	run -2 tensor-tool info -d x
}

# ---- npy ----------------------------------------------------------------------

@test "npy -> stream -> npy is byte-exact for numpy-written files of every dtype" {
	local n=0
	for f in "$GOLD"/[!b]*.npy "$GOLD"/bool*.npy; do
		tensor-tool from-npy "$f" -o s.dts
		tensor-tool to-npy s.dts -o back.npy
		cmp "$f" back.npy
		n=$((n + 1))
	done
	[ "$n" -ge 12 ]
}

@test "from-npy names, dtypes and shapes" {
	run -0 tensor-tool from-npy -r embedding -m model=x "$GOLD/u8-4x4x3.npy" -o s.dts
	run -0 tensor-tool info s.dts
	assert_line --index 1 "0	u8-4x4x3	U8	4x4x3	embedding	48	192	model=x"
	tensor-tool from-npy < "$GOLD/f64-scalar.npy" | tensor-tool info > info.txt
	grep -q "^0	array	F64	scalar	-	8	" info.txt
}

@test "stream -> npy -> stream is byte-exact for every dtype, BF16 as <V2" {
	for dt in F32 F16 BF16 F64 I8 U8 I16 U16 I32 U32 I64 U64; do
		MOD=100 mkstream a.dts "$dt" 3x4 -N a
		tensor-tool to-npy a.dts -o a.npy
		tensor-tool from-npy a.npy -o b.dts
		cmp a.dts b.dts
	done
	mkstream a.dts BF16 3x4 -N a
	tensor-tool to-npy a.dts -o a.npy
	grep -q "'descr': '<V2'" a.npy
}

@test "concatenated npy arrays become several records" {
	cat "$GOLD/f32-2x3.npy" "$GOLD/i8-7.npy" > two.npy
	tensor-tool from-npy -N x two.npy -o s.dts
	run -0 tensor-tool info s.dts
	assert_line --index 1 --partial "0	x	F32	2x3"
	assert_line --index 2 --partial "1	x.1	I8	7"
	tensor-tool to-npy s.dts | cmp - two.npy
	tensor-tool to-npy -s x.1 s.dts | cmp - "$GOLD/i8-7.npy"
}

@test "Fortran-order and big-endian npy are refused with one line" {
	run -1 --separate-stderr tensor-tool from-npy -o out.dts "$GOLD/bad-fortran.npy"
	[ "$stderr" = "tensor-tool: cannot read '$GOLD/bad-fortran.npy': Fortran-order arrays are not supported (save in C order)" ]
	[ ! -e out.dts ]
	run -1 --separate-stderr tensor-tool from-npy "$GOLD/bad-bigendian.npy"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"'>f4' not supported (big-endian)" ]]
	head -c 100 "$GOLD/f32-2x3.npy" > short.npy
	run -1 --separate-stderr tensor-tool from-npy short.npy
	[[ "$stderr" == "tensor-tool: cannot read 'short.npy': truncated npy"* ]]
}

# ---- CSV ----------------------------------------------------------------------

@test "CSV: stream -> csv -> stream is byte-exact (F32, F64, integers)" {
	printf 'time,load,temp\n0,0.1,-3.25\n1,1e-30,3.4028234663852886e+38\n2,nan,-0\n' > in.csv
	for dt in F32 F64; do
		tensor-tool from-csv -T $dt in.csv -o a.dts
		tensor-tool to-csv a.dts -o a.csv
		tensor-tool from-csv -T $dt -N in a.csv -o b.dts
		cmp a.dts b.dts
		# and the CSV written by the tool is a fixed point
		tensor-tool to-csv b.dts | cmp - a.csv
	done
	head -1 a.csv | grep -qx 'time,load,temp'
	for dt in I8 U8 I16 U16 I32 U32 I64 U64; do
		table 12 100 | tensor-tool from-csv -T $dt -o a.dts
		tensor-tool to-csv a.dts | tensor-tool from-csv -T $dt | cmp - a.dts
	done
}

@test "CSV: column names with commas and quotes survive; inexact integers are refused" {
	printf '"a,b","say ""hi""",c\n1,2,3\n' > q.csv
	tensor-tool from-csv q.csv -o q.dts
	tensor-tool to-csv q.dts | cmp - q.csv
	printf 'x\n1.5\n' > f.csv
	run -1 --separate-stderr tensor-tool from-csv -T I32 -o out.dts f.csv
	[[ "$stderr" == "tensor-tool: cannot convert 'f.csv': value 1.5 (element 0) is not exact as I32" ]]
	[ ! -e out.dts ]
	printf 'x\n0.1\n' | tensor-tool from-csv -T F32 | tensor-tool to-csv | tail -1 | grep -qx '0.100000001'
}

@test "CSV: a regular date column becomes start/freq metadata and comes back" {
	printf 'date,a,b\n2016-07-01 00:00:00,1,2\n2016-07-01 01:00:00,3,4\n2016-07-01 02:00:00,5,6\n' > d.csv
	tensor-tool from-csv -T F32 d.csv -o d.dts
	run -0 tensor-tool info d.dts
	assert_line --index 1 "0	d	F32	3x2	-	24	256	columns=a,b freq=3600 index_name=date start=2016-07-01 00:00:00"
	tensor-tool to-csv d.dts | cmp - d.csv
	printf 'date,a\n2016-07-01 00:00:00,1\n2016-07-01 01:00:00,3\n2016-07-01 03:00:00,5\n' > irr.csv
	run -1 --separate-stderr tensor-tool from-csv irr.csv
	[ "$stderr" = "tensor-tool: cannot convert 'irr.csv': column 'date' is not a regular time axis (row 3)" ]
	printf 'name,a\nfoo,1\n' > s.csv
	run -1 --separate-stderr tensor-tool from-csv s.csv
	[[ "$stderr" == *"first column 'name' is neither numbers nor timestamps ('foo' in row 1)" ]]
}

@test "CSV: to-csv needs rank 1 or 2" {
	mkstream a.dts U8 2x2x2 -N cube
	run -1 --separate-stderr tensor-tool to-csv a.dts
	[[ "$stderr" == "tensor-tool: cannot convert record 0 ('cube') to CSV: rank 3 (need 1 or 2)" ]]
}

# ---- PNG ----------------------------------------------------------------------

@test "PNG: 8/16-bit gray, gray+alpha, RGB, RGBA round trips are byte-exact" {
	local roles=(x image.gray image.graya image.rgb image.rgba)
	for c in 1 2 3 4; do
		for dt in U8 U16; do
			MOD=$([ $dt = U8 ] && echo 256 || echo 65536) mkstream a.dts $dt 5x7x$c -N img -r "${roles[$c]}"
			tensor-tool to-png a.dts -o a.png
			head -c 8 a.png | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'
			tensor-tool from-png -N img a.png -o b.dts
			cmp a.dts b.dts
			tensor-tool to-png b.dts | cmp - a.png
		done
	done
}

@test "PNG: from-png sets role and shape; wrong dtype is refused" {
	mkstream a.dts U8 2x3x3 -N img
	tensor-tool to-png a.dts | tensor-tool from-png | tensor-tool info > info.txt
	grep -q "^0	image	U8	2x3x3	image.rgb	18	" info.txt
	mkstream f.dts F32 2x3x3 -N img
	run -1 --separate-stderr tensor-tool to-png -o out.png f.dts
	[[ "$stderr" == "tensor-tool: cannot convert record 0 ('img') to PNG: need U8 or U16"* ]]
	[ ! -e out.png ]
}

# ---- WAV ----------------------------------------------------------------------

@test "WAV: 16-bit mono/stereo and float round trips are byte-exact" {
	for ch in 1 2; do
		MOD=65536 mkstream a.dts I16 50x$ch -N snd -r audio.pcm -m sample_rate=8000 -m sample_format=pcm16
		tensor-tool to-wav a.dts -o a.wav
		head -c 4 a.wav | grep -q RIFF
		tensor-tool from-wav -N snd a.wav -o b.dts
		cmp a.dts b.dts
		tensor-tool to-wav b.dts | cmp - a.wav
	done
	printf 'l,r\n0.5,-0.25\n0.125,1\n-1,0.0078125\n' | tensor-tool from-csv -T F32 |
		tensor-tool set -N snd -r audio.pcm -m sample_rate=44100 -m sample_format=float -M columns -o f.dts
	tensor-tool to-wav f.dts -o f.wav
	tensor-tool from-wav -N snd f.wav | cmp - f.dts
	tensor-tool from-wav f.wav | tensor-tool to-wav > g.wav
	# no PEAK chunk (libsndfile's carries a wall-clock timestamp): equal
	# input gives equal bytes, whenever it is written
	! grep -q PEAK f.wav
	cmp f.wav g.wav
}

@test "WAV: 24-bit PCM kept as I32 and a missing rate needs -R" {
	printf 'v\n-8388608\n8388607\n12345\n' | tensor-tool from-csv -T I32 |
		tensor-tool set -N snd -M columns -m sample_format=pcm24 -o a.dts
	run -1 --separate-stderr tensor-tool to-wav -o a.wav a.dts
	[[ "$stderr" == *"no sample_rate metadata (use -R)" ]]
	[ ! -e a.wav ]
	tensor-tool to-wav -R 16000 a.dts -o a.wav
	tensor-tool from-wav a.wav | tensor-tool to-csv | tail -3 | tr '\n' ' ' | grep -qx -- '-8388608 8388607 12345 '
}

# ---- info / cat / pick / split / set -------------------------------------------

@test "info lists records as TSV and JSON lines, checking CRCs" {
	mkstream a.dts F32 2x3 -N latents -r latents -m seed=42 -m model=pixart
	mkstream b.dts U8 4 -N mask
	tensor-tool cat a.dts b.dts -o ab.dts
	run -0 tensor-tool info ab.dts
	assert_line --index 0 "index	name	dtype	shape	role	bytes	offset	meta"
	assert_line --index 1 "0	latents	F32	2x3	latents	24	192	model=pixart seed=42"
	assert_line --index 2 "1	mask	U8	4	-	4	384	-"
	[ "${#lines[@]}" -eq 3 ]
	run -0 tensor-tool info --json ab.dts
	assert_line --index 0 '{"index":0,"name":"latents","dtype":"F32","shape":[2,3],"role":"latents","bytes":24,"offset":192,"meta":{"model":"pixart","seed":"42"}}'
	# the payload really is at the offset info reports
	tensor-tool to-npy -s mask ab.dts | tail -c 4 > want
	tail -c +385 ab.dts | head -c 4 | cmp - want
}

@test "cat renumbers and split/cat is the identity" {
	mkstream a.dts F32 2x3 -N one
	mkstream b.dts I16 3 -N two
	tensor-tool cat a.dts b.dts a.dts -o all.dts
	run -0 tensor-tool info all.dts
	assert_line --index 3 --partial "2	one	F32"
	tensor-tool cat a.dts b.dts -o ab.dts
	mkdir parts
	tensor-tool split -d parts -p p- ab.dts
	[ -f parts/p-one.dts ] && [ -f parts/p-two.dts ]
	cmp parts/p-one.dts a.dts
	tensor-tool cat parts/p-one.dts parts/p-two.dts | cmp - ab.dts
	tensor-tool cat < ab.dts | cmp - ab.dts
}

@test "split refuses two records that map to one file name" {
	mkstream a.dts F32 2 -N same
	tensor-tool cat a.dts a.dts -o aa.dts
	run -1 --separate-stderr tensor-tool split aa.dts
	[[ "$stderr" == *"both map to './same.dts'" ]]
}

@test "pick selects by name and index, in stream order" {
	mkstream a.dts F32 2 -N a
	mkstream b.dts U8 3 -N b
	mkstream c.dts I32 1 -N 7up
	tensor-tool cat a.dts b.dts c.dts -o abc.dts
	tensor-tool pick -i abc.dts 7up 0 -o p.dts
	run -0 tensor-tool info p.dts
	assert_line --index 1 --partial "0	a	F32"
	assert_line --index 2 --partial "1	7up	I32"
	tensor-tool pick b < abc.dts | cmp - b.dts
	run -1 --separate-stderr tensor-tool pick -i abc.dts nope -o out.dts
	[ "$stderr" = "tensor-tool: cannot pick from 'abc.dts': no record 'nope'" ]
	[ ! -e out.dts ]
	run -2 tensor-tool pick -i abc.dts
}

@test "set renames, reshapes and edits metadata" {
	mkstream a.dts F32 2x3 -N a -m keep=1 -m drop=2
	tensor-tool set -s a -N b -r series -S 3x2 -M drop -m new=x a.dts -o b.dts
	run -0 tensor-tool info b.dts
	assert_line --index 1 --partial "0	b	F32	3x2	series	24	192	keep=1 new=x"
	run -1 --separate-stderr tensor-tool set -S 4x2 a.dts
	[[ "$stderr" == *"element count differs" ]]
	run -1 --separate-stderr tensor-tool set -m 'bad key=1' a.dts
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "the stream bytes follow diffcore-stream(5)" {
	mkstream a.dts F32 2x3 -N x
	# preamble
	[ "$(head -c 16 a.dts | od -An -tx1 | tr -d ' \n')" = "89445453 0d0a1a0a 01000000 00000000" ] ||
	[ "$(head -c 16 a.dts | od -An -tx1 | tr -d ' \n')" = "894454530d0a1a0a0100000000000000" ]
	# record tag and header text
	[ "$(tail -c +65 a.dts | head -c 4)" = TENS ]
	tail -c +97 a.dts | head -c 31 | grep -q 'name x'
	# END record, size a multiple of 64
	[ $(( $(wc -c < a.dts) % 64 )) -eq 0 ]
	tail -c 128 a.dts | head -c 4 | od -An -c | grep -q 'E   N   D  \\0'
}

# ---- bad input ---------------------------------------------------------------

@test "bad input: truncated stream" {
	mkstream a.dts F32 64 -N x
	head -c 300 a.dts > t.dts
	bad_input t.dts "record 0 \('x'\): truncated payload"
	head -c 50 a.dts > t2.dts
	bad_input t2.dts "truncated stream preamble"
}

@test "bad input: missing END record" {
	mkstream a.dts F32 4 -N x
	head -c $(( $(wc -c < a.dts) - 128 )) a.dts > t.dts
	bad_input t.dts "without an END record"
	"$GEN" --gen noend > n.dts
	bad_input n.dts "without an END record"
}

@test "bad input: bit-flipped header is a header CRC error" {
	mkstream a.dts F32 4 -N x
	flip a.dts 101
	bad_input a.dts "record 0: header CRC mismatch"
}

@test "bad input: bit-flipped payload is a payload CRC error" {
	mkstream a.dts F32 4 -N x
	flip a.dts 130
	bad_input a.dts "record 0 \('x'\): payload CRC mismatch"
}

@test "bad input: oversized header length" {
	mkstream a.dts F32 4 -N x
	printf '\x20\x00\x10\x00' | dd of=a.dts bs=1 seek=68 conv=notrunc status=none
	bad_input a.dts "record 0: oversized header \(1048608 bytes, limit 65504\)"
}

@test "bad input: wrong payload length for dtype and shape" {
	"$GEN" --gen badlen > b.dts
	bad_input b.dts "record 0 \('x'\): payload length 20 does not match F32 2x3 \(24 bytes\)"
}

@test "bad input: out-of-order record index" {
	"$GEN" --gen badindex > b.dts
	bad_input b.dts "record 0: out-of-order record index 1"
	# duplicated record spliced from a valid stream
	mkstream a.dts F32 4 -N x
	mkstream b.dts U8 4 -N y
	tensor-tool cat a.dts b.dts -o ab.dts
	{ head -c 192 ab.dts; tail -c +65 a.dts; } > dup.dts
	bad_input dup.dts "record 1: out-of-order record index 0"
}

@test "bad input: not a stream, empty, garbage after END, unknown version, bad key" {
	printf 'hello, world\n' > text.dts
	bad_input text.dts "not a tensor stream \(bad magic\)"
	: > empty.dts
	bad_input empty.dts "empty input"
	mkstream a.dts F32 4 -N x
	printf 'x' >> a.dts
	bad_input a.dts "trailing garbage after END record"
	"$GEN" --gen badversion > v.dts
	bad_input v.dts "unsupported stream version 2"
	"$GEN" --gen badkey > k.dts
	bad_input k.dts "unknown header key 'colour'"
	"$GEN" --gen endcount > e.dts
	bad_input e.dts "record count 5 does not match 1"
}

@test "ancillary records are skipped" {
	"$GEN" --gen ancillary > anc.dts
	run -0 tensor-tool info anc.dts
	assert_line --index 1 --partial "1	x	F32	2x3"
	[ "${#lines[@]}" -eq 2 ]
}

@test "a failing upstream in a pipe is an error downstream" {
	mkstream a.dts F32 1000 -N x
	run -1 --separate-stderr bash -c 'head -c 2000 a.dts | tensor-tool to-npy -o out.npy'
	[[ "$stderr" == "tensor-tool: cannot read 'stdin': record 0 ('x'): truncated payload (1808 of 4000 bytes)" ]]
	[ ! -e out.npy ]
}

@test "from-csv: pandas' missing-value markers are NaN (empty cells on the way back), blanks around names dropped" {
	printf 'a, b ,c\n1,NA,null\n2,N/A,3\n' | tensor-tool from-csv -o na.dts
	run tensor-tool to-csv na.dts
	assert_success
	assert_line --index 0 "a,b,c"
	assert_line --index 1 "1,,"
	assert_line --index 2 "2,,3"
}
