#!/usr/bin/env bats
# spk-embed.bats - spk-embed(1) with the tiny random-weight ECAPA-TDNN of
# tests/data/spk-models/ecapa-tiny: embedding streams (names, metadata,
# order, determinism, stdin), score (audio, streams, STREAM:NAME, speaker
# models), trial lists, eval on known scores (EER and minDCF by hand), the DET
# plot, enroll, the cohort normalisations against values computed by hand
# (numpy, float32 as here), info, and every bad input: silence, near
# silence, a 0.1 s clip, silence left after --vad, clipped audio (a warning),
# 8 kHz and stereo input (notes), corrupt and non-audio files, missing
# model (given and default), bad trial lines, a missing label for eval,
# --keep-going; usage errors; the man page's examples.
#
# Test audio is made here from the one committed speech clip
# (tests/data/spk/so762_000010011.wav, speechocean762, CC BY 4.0) and awk
# synthesis, through tensor-tool (CSV -> stream -> WAV): no sox or python.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# wav OUT RATE: integer samples on stdin (one line per frame, channels
# comma separated, after a header line) -> 16-bit WAV
wav() {
	tensor-tool from-csv -T I16 | tensor-tool set -m sample_rate="$2" | tensor-tool to-wav -o "$1"
}

# voice N F0 SEED [SILENCE_AFTER]: N samples at 16 kHz of a buzzy vowel-like
# tone at F0 Hz with vibrato, syllable gating and noise, then optional zeros
voice() {
	awk -v n="$1" -v f0="$2" -v seed="$3" -v tail="${4:-0}" 'BEGIN {
		print "ch0"; srand(seed); sr = 16000; ph = 0; pi = 3.14159265
		for (i = 0; i < n; i++) {
			t = i / sr; f = f0 * (1 + 0.04 * sin(2 * pi * 4 * t)); ph += 2 * pi * f / sr; v = 0
			for (h = 1; h <= 14; h++) v += sin(h * ph + h * seed) / (h * (1 + ((h * f0) % 700) / 700))
			env = 0.3 + 0.7 * (sin(2 * pi * 2.7 * t + seed) > -0.4)
			printf "%d\n", int(4000 * env * v + (rand() - 0.5) * 300) }
		for (i = 0; i < tail; i++) print 0 }'
}

setup_file() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	A="$BATS_FILE_TMPDIR/audio"
	mkdir -p "$A"
	cd "$A"
	cp "$TOP/tests/data/spk/so762_000010011.wav" speech.wav
	tensor-tool from-wav speech.wav | tensor-tool to-csv | tail -n +2 > speech.txt   # 41280 samples
	{ echo ch0; head -n 20800 speech.txt; } | wav alice1.wav 16000
	{ echo ch0; tail -n +20801 speech.txt; } | wav alice2.wav 16000
	voice 24000 110 1 | wav bob1.wav 16000
	voice 22000 116 2 | wav bob2.wav 16000
	voice 24000 210 3 | wav carol1.wav 16000
	for i in 1 2 3 4; do voice 16000 $((80 + 45 * i)) $((10 + i)) | wav cohort$i.wav 16000; done
	awk 'BEGIN { print "ch0"; for (i = 0; i < 16000; i++) print 0 }' | wav silence.wav 16000
	awk 'BEGIN { print "ch0"; srand(5); for (i = 0; i < 16000; i++) print int(rand() * 3) - 1 }' | wav dither.wav 16000
	{ echo ch0; sed -n '8001,9600p' speech.txt; } | wav short.wav 16000
	{ echo ch0; awk '{ v = $1 * 20; if (v > 32767) v = 32767; if (v < -32768) v = -32768; print v }' speech.txt; } |
		wav clipped.wav 16000
	{ echo ch0; awk 'NR % 2 == 1 { a = $1; next } { print int((a + $1) / 2) }' speech.txt; } | wav speech8k.wav 8000
	{ echo l,r; awk '{ print $1 "," $1 }' speech.txt; } | wav stereo.wav 16000
	voice 4800 150 7 32000 | wav burst.wav 16000
	{ echo ch0; awk 'BEGIN { for (i = 0; i < 16000; i++) print 0 }'; cat speech.txt;
	  awk 'BEGIN { for (i = 0; i < 16000; i++) print 0 }'; } | wav padded.wav 16000
	printf 'RIFF\044\000\000\000WAVEfmt \020\000\000\000garbage-garbage-garbage' > corrupt.wav
	echo "hello, not audio" > text.wav
	# small hand-made embedding streams (3 values) for the scoring arithmetic
	printf 'a,b,c\n1,0,0\n' | tensor-tool from-csv -N ea > ea.dts
	printf 'a,b,c\n1,1,0\n' | tensor-tool from-csv -N eb > eb.dts
	printf 'a,b,c\n0,1,0\n' | tensor-tool from-csv -N c1 > c1.dts
	printf 'a,b,c\n0,0,1\n' | tensor-tool from-csv -N c2 > c2.dts
	printf 'a,b,c\n1,1,1\n' | tensor-tool from-csv -N c3 > c3.dts
	printf 'a,b,c\n2,-1,0.5\n' | tensor-tool from-csv -N c4 > c4.dts
	tensor-tool cat c1.dts c2.dts c3.dts c4.dts > coh3.dts
	tensor-tool cat ea.dts eb.dts > ab.dts
	rm speech.txt
}

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	M="$TOP/tests/data/spk-models/ecapa-tiny"
	cd "$BATS_TEST_TMPDIR"
	cp "$BATS_FILE_TMPDIR"/audio/* .
}

# bad PATTERN CMD...: exit 1, exactly one line on stderr containing PATTERN
bad() {
	run --separate-stderr "${@:2}"
	assert_failure 1
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || { echo "stderr: $stderr"; false; }
	[[ "$stderr" == spk-embed:*"$1"* ]] || { echo "stderr: $stderr"; false; }
}

# usage CMD...: exit 2
usage() {
	run --separate-stderr "$@"
	assert_failure 2
	[[ "$stderr" == spk-embed:* ]] || { echo "stderr: $stderr"; false; }
}

# payload STREAM [SELECT]: the values of one record as text
payload() {
	tensor-tool to-csv ${2:+-s "$2"} "$1" | tail -n +2
}

@test "info describes the model" {
	run --separate-stderr spk-embed info --model "$M"
	assert_success
	assert_line $'arch\tecapa'
	assert_line $'embedding_dim\t24'
	assert_line $'parameters\t45584'
	assert_line $'frontend\tspeechbrain'
	assert_line $'sample_rate\t16000'
	assert_line $'channels\t32,32,32,32,96'
	assert_line $'global_context\tyes'
	assert_line --regexp $'^macs_per_second\t[1-9][0-9]+$'
	# the subcommand may come after the options
	run spk-embed --model "$M" info
	assert_success
	assert_line $'embedding_dim\t24'
}

@test "embed: one F32 record per file, named by path, in order, with metadata" {
	run spk-embed --model "$M" speech.wav bob1.wav alice1.wav -o emb.dts
	assert_success
	run tensor-tool info emb.dts
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	assert_line --index 1 --regexp $'^0\tspeech.wav\tF32\t24\tembedding\t96\t[0-9]+\tduration=2.580 model=.*ecapa-tiny$'
	assert_line --index 2 --regexp $'^1\tbob1.wav\tF32\t24\tembedding\t.*duration=1.500 '
	assert_line --index 3 --regexp $'^2\talice1.wav\tF32\t24\tembedding\t.*duration=1.300 '
	# finite, not all zero
	payload emb.dts speech.wav | awk '{ if ($1 != $1 + 0 || $1 == "nan") bad = 1; if ($1 != 0) nz++ }
		END { exit bad || nz < 20 }'
}

@test "embed: same bytes for any thread count and run; stdin gives the file's vector" {
	spk-embed --model "$M" -t 1 speech.wav bob1.wav -o a.dts
	spk-embed --model "$M" -t 2 speech.wav bob1.wav -o b.dts
	DIFFCORE_NUM_THREADS=3 spk-embed --model "$M" speech.wav bob1.wav -o c.dts
	cmp a.dts b.dts
	cmp a.dts c.dts
	# standard input, named -
	spk-embed --model "$M" < speech.wav > s.dts
	spk-embed --model "$M" - < speech.wav > s2.dts
	cmp s.dts s2.dts
	run tensor-tool info s.dts
	assert_line --index 1 --regexp $'^0\t-\tF32\t24\t'
	[ "$(payload s.dts)" = "$(payload a.dts speech.wav)" ]
}

@test "score: cosine of two files; 1 for a file with itself; symmetric" {
	run --separate-stderr spk-embed score --model "$M" speech.wav speech.wav
	assert_success
	assert_output "1.000000"
	run spk-embed score --model "$M" speech.wav bob1.wav
	assert_success
	assert_output --regexp '^-?[01]\.[0-9]{6}$'
	ab=$output
	run spk-embed score --model "$M" bob1.wav speech.wav
	assert_output "$ab"
	# different recordings do not score 1
	[ "$ab" != "1.000000" ]
	# to a file
	spk-embed score --model "$M" speech.wav bob1.wav -o s.txt
	[ "$(cat s.txt)" = "$ab" ]
}

@test "stereo input is mixed down (and says so); identical channels give the mono embedding" {
	run --separate-stderr spk-embed score --model "$M" stereo.wav speech.wav
	assert_success
	assert_output "1.000000"
	[ "$stderr" = "spk-embed: 'stereo.wav': 2 channels mixed down to mono" ]
	run --separate-stderr spk-embed -q score --model "$M" stereo.wav speech.wav
	assert_success
	[ -z "$stderr" ]
}

@test "8 kHz input is resampled to the model's rate (and says so)" {
	run --separate-stderr spk-embed --model "$M" speech8k.wav -o e.dts
	assert_success
	[ "$stderr" = "spk-embed: 'speech8k.wav': resampled from 8000 Hz to 16000 Hz" ]
	run tensor-tool info e.dts
	assert_line --index 1 --regexp $'^0\tspeech8k.wav\tF32\t24\tembedding\t.*duration=2.580 '
	run spk-embed score -q --model "$M" speech8k.wav speech.wav
	assert_success
	assert_output --regexp '^-?[01]\.[0-9]{6}$'
}

@test "clipped audio: a warning, the embedding is still made" {
	run --separate-stderr spk-embed --model "$M" clipped.wav -o e.dts
	assert_success
	[[ "$stderr" == "spk-embed: warning: 'clipped.wav': "*"% of the samples are clipped (at full scale); the embedding may be unreliable" ]]
	[ -s e.dts ]
	run --separate-stderr spk-embed -q --model "$M" clipped.wav -o e.dts
	[ -z "$stderr" ]
}

@test "--vad trims silence around the speech" {
	spk-embed --model "$M" padded.wav -o raw.dts
	spk-embed --model "$M" --vad padded.wav -o vad.dts
	run tensor-tool info raw.dts
	assert_line --index 1 --partial 'duration=4.580'
	d=$(tensor-tool info vad.dts | awk -F'\t' 'NR == 2 { split($8, m, " "); sub("duration=", "", m[1]); print m[1] }')
	awk -v d="$d" 'BEGIN { exit !(d >= 1.0 && d < 2.58) }'
	# the padding is whole 10 ms frames: the same samples are left as from
	# the clip alone, so the same embedding
	spk-embed --model "$M" --vad speech.wav -o vad2.dts
	[ "$(payload vad.dts)" = "$(payload vad2.dts)" ]
	[ "$(payload raw.dts)" != "$(payload vad.dts)" ]
	# audio that is short once trimmed
	run spk-embed --model "$M" burst.wav -o b.dts
	assert_success
	bad "cannot embed 'burst.wav': too short: " spk-embed --model "$M" --vad burst.wav -o b2.dts
	[[ "$stderr" == *" s of speech after --vad, at least 0.50 s needed (--min-duration)" ]]
	[ ! -e b2.dts ]
}

@test "score streams: one-record streams, STREAM:NAME, speaker models" {
	spk-embed --model "$M" speech.wav bob1.wav alice1.wav -o emb.dts
	spk-embed --model "$M" bob1.wav -o bob.dts
	a=$(spk-embed score --model "$M" speech.wav bob1.wav)
	# no model is needed for embeddings
	run spk-embed score emb.dts:speech.wav emb.dts:bob1.wav
	assert_success
	assert_output "$a"
	run spk-embed score emb.dts:speech.wav bob.dts
	assert_output "$a"
	run spk-embed score --model "$M" bob.dts speech.wav
	assert_output "$a"
	# the stream names as they were given
	run spk-embed score emb.dts:bob1.wav bob.dts
	assert_output "1.000000"
	bad "cannot use 'emb.dts': it holds 3 embeddings; choose one with 'emb.dts:NAME' (e.g. 'emb.dts:speech.wav')" \
		spk-embed score emb.dts bob.dts
	bad "cannot use 'emb.dts:nobody.wav': 'emb.dts' has no record named 'nobody.wav'" \
		spk-embed score emb.dts:nobody.wav bob.dts
	bad "cannot use 'ea.dts': it has 3 values, the other embeddings 24" spk-embed score bob.dts ea.dts
	bad "cannot read 'nostream.dts:x': No such file or directory" spk-embed score nostream.dts:x bob.dts
	# a damaged stream
	head -c 200 emb.dts > cut.dts
	bad "cannot read 'cut.dts': " spk-embed score cut.dts:bob1.wav bob.dts
	# not an embedding
	tensor-tool from-wav speech.wav -o pcm.dts
	bad "not a floating-point embedding" spk-embed score pcm.dts bob.dts
}

@test "enroll: mean of L2-normalised embeddings, named after the first file or --name" {
	spk-embed --model "$M" enroll alice1.wav alice2.wav -o alice.dts
	run tensor-tool info alice.dts
	assert_line --index 1 --regexp $'^0\talice1\tF32\t24\tembedding\t.*enrolled=2 model='
	spk-embed --model "$M" enroll --name alice alice1.wav alice2.wav -o named.dts
	run tensor-tool info named.dts
	assert_line --index 1 --regexp $'^0\talice\tF32\t24\t'
	[ "$(payload alice.dts)" = "$(payload named.dts)" ]
	# a model of one recording is that recording's direction
	spk-embed --model "$M" enroll bob1.wav -o b.dts
	run spk-embed score --model "$M" b.dts bob1.wav
	assert_output "1.000000"
	# the mean of the two normalised vectors, by hand
	spk-embed --model "$M" alice1.wav alice2.wav -o two.dts
	paste <(payload two.dts alice1.wav) <(payload two.dts alice2.wav) <(payload alice.dts) | awk '
		{ a[NR] = $1; b[NR] = $2; m[NR] = $3; na += $1 * $1; nb += $2 * $2 }
		END { for (i = 1; i <= NR; i++) { w = (a[i] / sqrt(na) + b[i] / sqrt(nb)) / 2
			d = w - m[i]; if (d < 0) d = -d; if (d > 1e-6) exit 1 } }'
	# enrolled from embeddings as well as audio
	spk-embed enroll two.dts:alice1.wav two.dts:alice2.wav -o fromemb.dts
	run tensor-tool info fromemb.dts
	assert_line --index 1 --regexp $'^0\talice1.wav\tF32\t24\t'
	[ "$(payload fromemb.dts)" = "$(payload alice.dts)" ]
	# enrolled models in a trial list
	printf 'alice.dts\talice2.wav\nalice.dts\tbob1.wav\n' > t.tsv
	run spk-embed score --model "$M" --trials t.tsv
	assert_success
	assert_line --index 0 --regexp $'^alice.dts\talice2.wav\t-?[01]\\.[0-9]{6}$'
}

@test "score --trials: each line with its score; comments, CRLF; each file embedded once" {
	printf '# a comment\n\nspeech.wav\tbob1.wav\t1\nstereo.wav\talice1.wav\ttarget\r\nstereo.wav\tbob1.wav\n' > t.tsv
	printf 'stereo.wav\tspeech.wav\t0\n' >> t.tsv
	run --separate-stderr spk-embed score --model "$M" --trials t.tsv
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	s=$(spk-embed score -q --model "$M" speech.wav bob1.wav)
	assert_line --index 0 "$(printf 'speech.wav\tbob1.wav\t1\t%s' "$s")"
	assert_line --index 1 --regexp $'^stereo.wav\talice1.wav\ttarget\t-?[01]\\.[0-9]{6}$'
	assert_line --index 2 --regexp $'^stereo.wav\tbob1.wav\t-?[01]\\.[0-9]{6}$'
	assert_line --index 3 $'stereo.wav\tspeech.wav\t0\t1.000000'
	# stereo.wav is in three trials and embedded once: one note
	[ "$stderr" = "spk-embed: 'stereo.wav': 2 channels mixed down to mono" ]
	# from standard input, to a file
	spk-embed score -q --model "$M" --trials - -o out.tsv < t.tsv
	[ "$(cat out.tsv)" = "$output" ]
}

@test "eval --scores: EER and minDCF of known scores" {
	# targets 0.9 0.8 0.4, nontargets 0.5 0.3 0.2 0.1: the EER is on the
	# segment from (P_fa 1/4, P_miss 1/3) to (1/4, 0): 25%; the best cost at
	# p_target 0.01 or 0.05 is P_miss 1/3 at P_fa 0 -> 1/3
	printf '1\t0.9\n1\t0.8\n0\t0.5\n1\t0.4\n0\t0.3\n0\t0.2\n0\t0.1\n' > s.tsv
	run --separate-stderr spk-embed eval --scores s.tsv
	assert_success
	assert_line --index 0 $'eer\tmindcf_0.01\tmindcf_0.05\ttrials\ttargets\tnontargets'
	assert_line --index 1 $'25.0000\t0.3333\t0.3333\t7\t3\t4'
	[[ "$stderr" == "spk-embed: s.tsv: EER 25.0000% at threshold "*"; minDCF(0.01) 0.3333 at threshold 0.5; minDCF(0.05) 0.3333 at threshold 0.5" ]]
	# the four-field form and the label words give the same
	awk -F'\t' '{ print "a\tb\t" ($1 ? "target" : "nontarget") "\t" $2 }' s.tsv > s4.tsv
	run spk-embed eval -q --no-header --scores s4.tsv
	assert_output $'25.0000\t0.3333\t0.3333\t7\t3\t4'
	# other priors: at 0.5 the best is P_miss 0, P_fa 1/4: 0.125 / 0.5
	run spk-embed eval -q --p-target 0.5 --p-target 0.001 --scores s.tsv
	assert_line --index 0 $'eer\tmindcf_0.5\tmindcf_0.001\ttrials\ttargets\tnontargets'
	assert_line --index 1 $'25.0000\t0.2500\t0.3333\t7\t3\t4'
	# perfectly separated
	printf '1\t0.9\n0\t0.1\n' | spk-embed eval -q --no-header --scores - > sep.tsv
	[ "$(cat sep.tsv)" = $'0.0000\t0.0000\t0.0000\t2\t1\t1' ]
}

@test "eval --det writes a PNG; eval --trials agrees with score --trials then eval --scores" {
	printf 'speech.wav\talice1.wav\t1\nspeech.wav\tbob1.wav\t0\nalice1.wav\talice2.wav\t1\n' > t.tsv
	printf 'bob1.wav\tbob2.wav\t1\nalice2.wav\tcarol1.wav\t0\nbob2.wav\tcarol1.wav\t0\n' >> t.tsv
	printf 'speech.wav\tcarol1.wav\t0\nalice1.wav\tbob2.wav\t0\n' >> t.tsv
	run --separate-stderr spk-embed eval --model "$M" --trials t.tsv --det det.png
	assert_success
	assert_line --index 1 --regexp $'^[0-9]+\\.[0-9]{4}\t[0-9]\\.[0-9]{4}\t[0-9]\\.[0-9]{4}\t8\t3\t5$'
	direct=${lines[1]}
	[ "$(head -c 8 det.png | od -An -tx1 | tr -d ' ')" = "89504e470d0a1a0a" ]
	run tensor-tool from-png det.png
	assert_success
	tensor-tool from-png det.png | tensor-tool info | grep -q $'640x640x3\timage.rgb'
	spk-embed score -q --model "$M" --trials t.tsv > scores.tsv
	run spk-embed eval -q --scores scores.tsv
	assert_line --index 1 "$direct"
}

@test "cohort normalisation: mean, asnorm, mean+asnorm against hand-computed values" {
	run spk-embed score ea.dts eb.dts
	assert_output "0.707107"
	run spk-embed score --norm mean --cohort coh3.dts ea.dts eb.dts
	assert_output "0.513347"
	run spk-embed score --norm asnorm --cohort coh3.dts ea.dts eb.dts
	assert_output "0.839678"
	run spk-embed score --norm asnorm --top-n 3 --cohort coh3.dts ea.dts eb.dts
	assert_output "0.529335"
	run spk-embed score --norm asnorm --top-n 2 --cohort coh3.dts ea.dts eb.dts
	assert_output -- "-0.560923"
	run spk-embed score --norm mean+asnorm --cohort coh3.dts ea.dts eb.dts
	assert_output "0.890918"
	run spk-embed score --norm mean+asnorm --top-n 3 --cohort coh3.dts ab.dts:ea ab.dts:eb
	assert_output "0.639744"
	# the same through a trial list and eval
	printf 'ea.dts\teb.dts\t1\nea.dts\tc4.dts\t0\n' > t.tsv
	run spk-embed score --norm asnorm --cohort coh3.dts --trials t.tsv
	assert_line --index 0 $'ea.dts\teb.dts\t1\t0.839678'
	run spk-embed eval -q --norm asnorm --cohort coh3.dts --trials t.tsv
	assert_success
	# with audio: a cohort of embedded files
	spk-embed --model "$M" cohort1.wav cohort2.wav cohort3.wav cohort4.wav -o cohort.dts
	run spk-embed score --model "$M" --norm asnorm --cohort cohort.dts speech.wav bob1.wav
	assert_success
	assert_output --regexp '^-?[0-9]+\.[0-9]{6}$'
	# bad cohorts
	bad "cannot use 'c1.dts' as a cohort: it holds 1 embedding, at least 2 are needed" \
		spk-embed score --norm mean --cohort c1.dts ea.dts eb.dts
	bad "cannot read 'speech.wav': not a tensor stream" spk-embed score --norm mean --cohort speech.wav ea.dts eb.dts
	bad "cannot read 'nocohort.dts': No such file or directory" spk-embed score --norm mean --cohort nocohort.dts ea.dts eb.dts
	bad "cannot use 'cohort.dts' as a cohort: its embeddings have 24 values, the others 3" \
		spk-embed score --norm mean --cohort cohort.dts ea.dts eb.dts
	printf 'speech.wav\tbob1.wav\n' > t2.tsv
	bad "cannot use 'coh3.dts' as a cohort: its embeddings have 3 values, the others 24" \
		spk-embed score --model "$M" --norm mean --cohort coh3.dts --trials t2.tsv
	# embeddings and audio of different sizes
	bad "model '$M' gives 24 values per embedding, the embeddings read so far have 3" \
		spk-embed score --model "$M" ea.dts speech.wav
}

@test "bad audio: silence, near silence, a 0.1 s clip, corrupt and non-audio files, missing files" {
	bad "cannot embed 'silence.wav': silence only (peak -inf dBFS, below -70 dBFS)" spk-embed --model "$M" silence.wav
	bad "cannot embed 'dither.wav': silence only (peak -90.3 dBFS, below -70 dBFS)" spk-embed --model "$M" dither.wav
	bad "cannot embed 'short.wav': too short: 0.10 s of audio, at least 0.50 s needed (--min-duration)" \
		spk-embed --model "$M" short.wav
	bad "cannot embed 'speech.wav': too short: 2.58 s of audio, at least 3.00 s needed (--min-duration)" \
		spk-embed --model "$M" --min-duration 3 speech.wav
	bad "cannot read 'corrupt.wav': " spk-embed --model "$M" corrupt.wav
	bad "cannot read 'text.wav': " spk-embed --model "$M" text.wav
	bad "cannot read 'nosuch.wav': No such file or directory" spk-embed --model "$M" nosuch.wav
	mkdir d.wav
	bad "cannot read 'd.wav': is a directory" spk-embed --model "$M" d.wav
	: > empty.wav
	bad "cannot read 'empty.wav': " spk-embed --model "$M" empty.wav
	# the same messages from score, and with the line from a trial list
	bad "cannot embed 'silence.wav': silence only" spk-embed score --model "$M" speech.wav silence.wav
	printf 'speech.wav\tbob1.wav\t1\nspeech.wav\tshort.wav\t0\n' > t.tsv
	bad "cannot embed 'short.wav': too short: 0.10 s of audio, at least 0.50 s needed (--min-duration) (t.tsv line 2)" \
		spk-embed score --model "$M" --trials t.tsv
	bad "(t.tsv line 2)" spk-embed eval --model "$M" --trials t.tsv
	# nothing written, an existing output kept
	echo precious > out.dts
	bad "cannot embed 'silence.wav'" spk-embed --model "$M" speech.wav silence.wav -o out.dts
	[ "$(cat out.dts)" = precious ]
	[ "$(ls -A | grep -c '^\.out')" -eq 0 ]
	run bash -c "spk-embed --model '$M' silence.wav 2>/dev/null | wc -c"
	assert_output "0"
}

@test "--keep-going: bad files reported, the others written, exit 1" {
	run --separate-stderr spk-embed --model "$M" --keep-going speech.wav silence.wav corrupt.wav bob1.wav -o out.dts
	assert_failure 1
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 3 ]
	assert_equal "$(printf '%s\n' "$stderr" | sed -n 1p)" "spk-embed: cannot embed 'silence.wav': silence only (peak -inf dBFS, below -70 dBFS)"
	[[ "$(printf '%s\n' "$stderr" | sed -n 2p)" == "spk-embed: cannot read 'corrupt.wav': "* ]]
	assert_equal "$(printf '%s\n' "$stderr" | sed -n 3p)" "spk-embed: 2 of 4 inputs failed; the others were written"
	run tensor-tool info out.dts
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 1 --regexp $'^0\tspeech.wav\t'
	assert_line --index 2 --regexp $'^1\tbob1.wav\t'
	# the same vectors as without the bad files
	spk-embed --model "$M" speech.wav bob1.wav -o good.dts
	cmp out.dts good.dts
	# nothing good: no output
	run --separate-stderr spk-embed --model "$M" --keep-going silence.wav short.wav -o none.dts
	assert_failure 1
	[[ "$stderr" == *"spk-embed: no embeddings written (2 bad inputs)" ]]
	[ ! -e none.dts ]
	# without it the first bad file ends the run
	bad "cannot embed 'silence.wav'" spk-embed --model "$M" speech.wav silence.wav bob1.wav -o x.dts
	[ ! -e x.dts ]
	# enroll --keep-going
	run --separate-stderr spk-embed --model "$M" enroll --keep-going alice1.wav short.wav alice2.wav -o a.dts
	assert_failure 1
	[[ "$stderr" == *"'alice1' was enrolled from the other 2" ]]
	run tensor-tool info a.dts
	assert_line --index 1 --partial 'enrolled=2'
	bad "cannot embed 'short.wav'" spk-embed --model "$M" enroll alice1.wav short.wav -o b.dts
	[ ! -e b.dts ]
}

@test "model errors: missing folder, no config.json, no default installed; the default when installed" {
	bad "cannot load model 'nomodel': No such file or directory" spk-embed --model nomodel speech.wav
	mkdir emptymodel
	bad "cannot load model 'emptymodel': no config.json (a speaker model is a folder with config.json and embedding_model.safetensors)" \
		spk-embed --model emptymodel speech.wav
	bad "cannot load model 'speech.wav': not a folder" spk-embed --model speech.wav speech.wav
	mkdir badmodel
	cp "$M/config.json" badmodel/
	bad "cannot load model 'badmodel': " spk-embed --model badmodel speech.wav
	bad "cannot load model 'nomodel'" spk-embed info --model nomodel
	# an installed copy without share/diffcore/models/spk-ecapa
	mkdir -p p/bin
	cp "$(command -v spk-embed)" p/bin/
	run --separate-stderr p/bin/spk-embed speech.wav
	assert_failure 1
	[[ "$stderr" == "spk-embed: no default model is installed ("*"/share/diffcore/models/spk-ecapa); give --model DIR, a folder with config.json and embedding_model.safetensors" ]]
	# embeddings need no model
	run p/bin/spk-embed score ea.dts eb.dts
	assert_output "0.707107"
	# with one installed, it is used
	mkdir -p p/share/diffcore/models
	ln -s "$M" p/share/diffcore/models/spk-ecapa
	run p/bin/spk-embed info
	assert_success
	assert_line --regexp $'^model\t.*/p/share/diffcore/models/spk-ecapa$'
	assert_line $'embedding_dim\t24'
}

@test "bad trial lines and score files: one-line error naming the line" {
	printf 'speech.wav bob1.wav 1\n' > spaces.tsv
	bad "'spaces.tsv' line 1: expected ENROLL<TAB>TEST[<TAB>LABEL], found one field (fields are separated by tabs)" \
		spk-embed score --model "$M" --trials spaces.tsv
	printf 'speech.wav\tbob1.wav\t1\nspeech.wav\tbob1.wav\t1\textra\n' > four.tsv
	bad "'four.tsv' line 2: expected ENROLL<TAB>TEST[<TAB>LABEL], found more than 3 tab-separated fields" \
		spk-embed score --model "$M" --trials four.tsv
	printf 'speech.wav\tbob1.wav\tmaybe\n' > label.tsv
	bad "'label.tsv' line 1: bad label 'maybe' (1, target or true; 0, nontarget or false)" \
		spk-embed score --model "$M" --trials label.tsv
	printf 'speech.wav\t\t1\n' > emptyname.tsv
	bad "'emptyname.tsv' line 1: empty file name" spk-embed score --model "$M" --trials emptyname.tsv
	printf '# only a comment\n' > none.tsv
	bad "'none.tsv': no trials" spk-embed score --model "$M" --trials none.tsv
	bad "cannot open 'nolist.tsv': No such file or directory" spk-embed score --model "$M" --trials nolist.tsv
	# eval needs labels, and both kinds
	printf 'speech.wav\tbob1.wav\t1\nspeech.wav\talice1.wav\n' > nolabel.tsv
	bad "'nolabel.tsv' line 2: no label (eval needs a third field: 1 or target, 0 or nontarget)" \
		spk-embed eval --model "$M" --trials nolabel.tsv
	printf 'speech.wav\tbob1.wav\t1\nspeech.wav\talice1.wav\t1\n' > alltarget.tsv
	bad "cannot evaluate 'alltarget.tsv': it needs both target and nontarget trials (2 target, 0 nontarget)" \
		spk-embed eval --model "$M" --trials alltarget.tsv
	# score files
	printf '1\t0.5\n0\tabc\n' > s1.tsv
	bad "'s1.tsv' line 2: bad score 'abc'" spk-embed eval --scores s1.tsv
	printf 'a\tb\t0.5\n' > s2.tsv
	bad "'s2.tsv' line 1: no label" spk-embed eval --scores s2.tsv
	printf '1\t0.5\n2\t0.5\n' > s3.tsv
	bad "'s3.tsv' line 2: bad label '2'" spk-embed eval --scores s3.tsv
	printf '0.5\n' > s4.tsv
	bad "'s4.tsv' line 1: expected ENROLL<TAB>TEST<TAB>LABEL<TAB>SCORE or LABEL<TAB>SCORE, found one tab-separated field" \
		spk-embed eval --scores s4.tsv
	printf '1\tnan\n0\t0.2\n' > s5.tsv
	bad "'s5.tsv' line 1: bad score 'nan'" spk-embed eval --scores s5.tsv
	# the DET plot is not written on an error
	bad "no label" spk-embed eval --scores s2.tsv --det det.png
	[ ! -e det.png ]
}

@test "usage errors exit 2" {
	usage spk-embed score --model "$M" speech.wav
	usage spk-embed score --model "$M" speech.wav bob1.wav alice1.wav
	usage spk-embed score --trials t.tsv speech.wav
	usage spk-embed score --det d.png speech.wav bob1.wav
	usage spk-embed score --keep-going speech.wav bob1.wav
	usage spk-embed --trials t.tsv speech.wav
	usage spk-embed --norm mean speech.wav
	usage spk-embed eval
	usage spk-embed eval --trials t.tsv --scores s.tsv
	usage spk-embed eval --scores s.tsv --model "$M"
	usage spk-embed eval --scores s.tsv --norm asnorm --cohort c.dts
	usage spk-embed eval --scores s.tsv extra
	usage spk-embed score --norm mean ea.dts eb.dts
	usage spk-embed score --cohort coh3.dts ea.dts eb.dts
	usage spk-embed score --norm bogus --cohort coh3.dts ea.dts eb.dts
	usage spk-embed score --norm mean --top-n 5 --cohort coh3.dts ea.dts eb.dts
	usage spk-embed score --norm asnorm --top-n 1 --cohort coh3.dts ea.dts eb.dts
	usage spk-embed eval --p-target 0 --scores s.tsv
	usage spk-embed eval --p-target 1 --scores s.tsv
	usage spk-embed --min-duration 0 speech.wav
	usage spk-embed enroll --model "$M"
	usage spk-embed enroll --name "" speech.wav
	usage spk-embed info extra
	usage spk-embed info --vad
	usage spk-embed --no-such-option
	[[ "$stderr" == *"Try 'spk-embed --help' for more information."* ]]
	# no input and a terminal on stdin
	if command -v script >/dev/null; then
		run script -qec "spk-embed --model '$M'" /dev/null
		assert_failure 2
		assert_output --partial "no input files"
	fi
}

@test "the man page examples run" {
	MAN="$TOP/man/man1/spk-embed.1"
	# the examples use the installed default model: a wrapper gives the test model
	mkdir wrap
	real=$(command -v spk-embed)
	printf '#!/bin/sh\ncase " $* " in *" --scores "*) exec "%s" "$@" ;; esac\nexec "%s" --model "%s" "$@"\n' \
		"$real" "$real" "$M" > wrap/spk-embed
	chmod +x wrap/spk-embed
	PATH="$PWD/wrap:$PATH"
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
	' "$MAN" | sed -e 's/\\-/-/g' -e 's/\\e/\\/g' > cmds.sh
	[ "$(wc -l < cmds.sh)" -ge 8 ]
	while IFS= read -r cmd; do
		run bash -o pipefail -c "$cmd"
		[ "$status" -eq 0 ] || { echo "failed: $cmd"; echo "$output"; false; }
	done < cmds.sh
	[ -s emb.dts ] && [ -s alice.dts ] && [ -s scores.tsv ] && [ -s det.png ] && [ -s bob1.npy ]
	[ "$(wc -l < scores.tsv)" -eq 2 ]
	# the Makefile example
	rm -f emb.dts scores.tsv det.png
	sed -n '/begin: Makefile/,/end: Makefile/p' "$MAN" | grep -v '^\.' | sed -e 's/\\-/-/g' > Makefile
	run make -s -j2
	assert_success
	[ "$(wc -l < results.tsv)" -eq 2 ]
	[ -s det.png ]
	run make -s
	assert_success
}

@test "the default model tells speakers apart: two sentences of one speaker score well above another speaker's" {
	[ -r "$TOP/share/diffcore/models/spk-ecapa/config.json" ] || skip "no default speaker model in this tree"
	case "$(command -v spk-embed)" in "$TOP"/build*) ;; *) skip "spk-embed not from this tree's build" ;; esac
	S="$TOP/share/diffcore/samples"
	# speechocean762 test speakers 1030 (two sentences) and 1037, unseen in training
	same=$(spk-embed -q score "$S/spk1030_a.flac" "$S/spk1030_b.flac")
	d1=$(spk-embed -q score "$S/spk1030_a.flac" "$S/spk1037_a.flac")
	d2=$(spk-embed -q score "$S/spk1030_b.flac" "$S/spk1037_a.flac")
	echo "same $same, different $d1 $d2"
	# on the 125 test speakers the EER threshold of this model is 0.44 and
	# its minDCF(0.01) threshold 0.64 (tests/bench/spk_eer.sh); these two
	# adult men score 0.85 and 0.43/0.38 (a random network gives ~0.95 for all)
	awk -v s="$same" -v a="$d1" -v b="$d2" 'BEGIN { exit !(s > 0.64 && a < 0.5 && b < 0.5 && s - a > 0.3 && s - b > 0.3) }'
	run spk-embed info
	assert_success
	assert_output --partial "ecapa"
}

@test "--det into a FIFO or /dev/null writes through it and leaves it in place" {
	printf '1\t0.9\n1\t0.8\n0\t0.3\n0\t0.85\n1\t0.6\n0\t0.1\n' > s.tsv
	spk-embed -q eval --scores s.tsv --det det.png > /dev/null
	mkfifo pipe
	timeout 20 cat pipe > got.png &
	spk-embed -q eval --scores s.tsv --det pipe > /dev/null
	wait
	[ -p pipe ]
	cmp det.png got.png
	spk-embed -q eval --scores s.tsv --det /dev/null > /dev/null
	[ -c /dev/null ]
}
