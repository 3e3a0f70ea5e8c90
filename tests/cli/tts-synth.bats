#!/usr/bin/env bats
# tts-synth.bats - tts-synth(1) mechanics with a tiny random-weight voice
# (tests/golden/fastspeech2/a, 20 mels, plus an ARPAbet "symbols" list
# written here): random weights give noise, so these check mechanics, not
# sound: --phonemes (no voice needed), WAV rate and length = sum of the
# durations * hop, --speed 2 about half the frames, --pitch/--energy keep
# the durations, timestamps contiguous and covering the audio, batch
# patterns and one-file batches with --sentence-silence, FLAC, the user
# lexicon, and every bad input: empty text, blank lines, binary garbage,
# unknown characters, a 1 MB line, missing voice (given and default), a
# voice without symbols or missing one; usage errors; the man page's
# examples.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# samples and rate of a 16-bit mono WAV as libsndfile writes it (44-byte header)
wav_samples() { echo $(( $(od -An -tu4 -j40 -N4 "$1") / 2 )); }
wav_rate() { echo $(od -An -tu4 -j24 -N4 "$1"); }

setup_file() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	V="$BATS_FILE_TMPDIR/voice"
	mkdir -p "$V"
	cp "$TOP/tests/golden/fastspeech2/a/model.safetensors" "$V/"
	{
		printf '"_"'
		for v in AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW; do
			for s in 0 1 2; do printf ',"@%s%s"' $v $s; done
		done
		for c in B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH; do printf ',"@%s"' $c; done
		printf ',"@sp","@spn","@sil"'
	} > "$BATS_FILE_TMPDIR/syms"
	# config.json without its closing brace, then the symbols
	sed '$d' "$TOP/tests/golden/fastspeech2/a/config.json" > "$V/config.json"
	echo ", \"symbols\": [$(cat "$BATS_FILE_TMPDIR/syms")]}" >> "$V/config.json"
	# the same voice without ZH, and without symbols
	mkdir -p "$BATS_FILE_TMPDIR/nozh" "$BATS_FILE_TMPDIR/nosym"
	cp "$V/model.safetensors" "$BATS_FILE_TMPDIR/nozh/"
	sed 's/,"@ZH"//' "$V/config.json" > "$BATS_FILE_TMPDIR/nozh/config.json"
	cp "$TOP/tests/golden/fastspeech2/a/"{config.json,model.safetensors} "$BATS_FILE_TMPDIR/nosym/"
}

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	V="$BATS_FILE_TMPDIR/voice"
	cd "$BATS_TEST_TMPDIR"
}

# ---- phonemes -----------------------------------------------------------------------

@test "--phonemes: hello world, no voice needed" {
	run tts-synth --voice /nonexistent --phonemes "hello world"
	assert_success
	assert_output "pau hh ax0 l ow1 w er1 l d pau"
}

@test "--phonemes: one line per input line, blank lines kept" {
	printf 'hello world\n\nthe apple\n' > in.txt
	run tts-synth --phonemes -i in.txt
	assert_success
	assert_equal "${#lines[@]}" 2   # bats drops the blank line from lines[]
	assert_equal "$(tts-synth --phonemes -i in.txt | wc -l)" 3
	assert_equal "$(tts-synth --phonemes -i in.txt | sed -n 3p)" "pau dh iy0 ae1 p ax0 l pau"
	assert_equal "$(tts-synth --phonemes -i in.txt | sed -n 2p)" ""
	run tts-synth --phonemes --festival "the apple"
	assert_output "pau dh ax0 ae1 p ax0 l pau"
}

@test "--lexicon: user pronunciations; a bad lexicon is an error" {
	printf 'diffcore\td ih1 f k ao0 r\n' > lex.txt
	run tts-synth --phonemes --lexicon lex.txt "diffcore"
	assert_success
	assert_output "pau d ih1 f k ao0 r pau"
	printf 'diffcore\td xx1\n' > bad.txt
	run tts-synth --phonemes --lexicon bad.txt "diffcore"
	assert_failure 1
	assert_output --partial "tts-synth: cannot load lexicon 'bad.txt'"
	assert_output --partial "unknown phone"
}

# ---- audio --------------------------------------------------------------------------------

@test "WAV at the voice's rate, length = sum(durations) * hop, timestamps cover it" {
	run tts-synth --voice "$V" -o a.wav --timestamps a.tsv "Hello world"
	assert_success
	assert_equal "$(wav_rate a.wav)" 22050
	n=$(wav_samples a.wav)
	[ "$n" -gt 0 ]
	assert_equal $(( n % 256 )) 0
	head -1 a.tsv | grep -q $'^utterance\ttype\tstart\tend\tlabel\tbyte_begin\tbyte_end'
	# phones: contiguous from 0, the last ends at the audio's end; their frames sum to n / 256
	awk -F'\t' -v n="$n" 'NR > 1 && $2 == "phone" {
		if ($3 - prev > 1e-4 || prev - $3 > 1e-4 || $4 < $3) bad = 1; prev = $4
		frames += ($4 - $3) * 22050 / 256; k++ }
		END { if (bad || k != 10 || prev - n / 22050 > 1e-4 || n / 22050 - prev > 1e-4) exit 1
		      if (frames - n / 256 > 0.05 || n / 256 - frames > 0.05) exit 1 }' a.tsv
	# words with their text and byte offsets
	run awk -F'\t' '$2 == "word" { print $5, $6, $7, $8 }' a.tsv
	assert_line --index 0 "hello 0 5 Hello"
	assert_line --index 1 "world 6 11 world"
	# a word spans its phones
	awk -F'\t' '$2 == "word" { ws = $3; we = $4; w = $6 }
		$2 == "phone" && $6 == w && ($3 < ws - 1e-6 || $4 > we + 1e-6) { exit 1 }' a.tsv
}

@test "--speed 2 gives about half the frames; --pitch and --energy keep the durations" {
	t="The quick brown fox jumps over the lazy dog, twice."
	tts-synth --voice "$V" -o s1.wav "$t"
	tts-synth --voice "$V" --speed 2 -o s2.wav "$t"
	tts-synth --voice "$V" --speed 0.5 -o s05.wav "$t"
	n1=$(wav_samples s1.wav) n2=$(wav_samples s2.wav) n05=$(wav_samples s05.wav)
	echo "$n1 $n2 $n05"
	awk -v a="$n1" -v b="$n2" -v c="$n05" 'BEGIN { exit !(b / a > 0.4 && b / a < 0.6 && c / a > 1.8 && c / a < 2.2) }'
	tts-synth --voice "$V" --pitch 1.5 -o p.wav "$t"
	tts-synth --voice "$V" --energy 0.5 -o e.wav "$t"
	assert_equal "$(wav_samples p.wav)" "$n1"
	assert_equal "$(wav_samples e.wav)" "$n1"
	! cmp -s s1.wav p.wav
	! cmp -s s1.wav e.wav
}

@test "deterministic; stdout without -o; FLAC by extension" {
	tts-synth --voice "$V" -o a.wav "Hi there."
	tts-synth --voice "$V" "Hi there." > b.wav
	cmp a.wav b.wav
	echo "Hi there." | tts-synth --voice "$V" > c.wav
	cmp a.wav c.wav
	tts-synth --voice "$V" -o x.flac "Hi there."
	assert_equal "$(head -c 4 x.flac)" "fLaC"
}

@test "sentences and lines: --sentence-silence between them in one file" {
	tts-synth --voice "$V" -o one.wav "One."
	tts-synth --voice "$V" -o two.wav "Two three."
	a=$(wav_samples one.wav) b=$(wav_samples two.wav)
	printf 'One.\n\nTwo three.\n' | tts-synth --voice "$V" --sentence-silence 0.5 -o both.wav --timestamps t.tsv
	assert_equal "$(wav_samples both.wav)" $(( a + b + 11025 ))
	tts-synth --voice "$V" --sentence-silence 0.5 -o same.wav "One. Two three."
	assert_equal "$(wav_samples same.wav)" $(( a + b + 11025 ))
	tts-synth --voice "$V" --sentence-silence 0 -o tight.wav "One. Two three."
	assert_equal "$(wav_samples tight.wav)" $(( a + b ))
	# timestamps: utterance = line number; line 3 starts after the silence
	run awk -F'\t' 'NR > 1 { print $1 }' t.tsv
	refute_line 2
	awk -F'\t' -v a="$a" '$1 == 3 && !seen { seen = 1; s = $3 } END { d = s - (a + 11025) / 22050; exit !(d < 1e-4 && d > -1e-4) }' t.tsv
}

@test "batch: -o pattern writes one file per line, named by line number" {
	printf 'One.\n\nTwo three.\n' > in.txt
	run tts-synth --voice "$V" -i in.txt -o 'out_%02d.wav' --timestamps t.tsv
	assert_success
	[ -s out_01.wav ] && [ -s out_03.wav ] && [ ! -e out_02.wav ]
	tts-synth --voice "$V" -o one.wav "One."
	cmp one.wav out_01.wav
	# times restart in each file
	assert_equal "$(awk -F'\t' '$1 == 3 { print $3; exit }' t.tsv)" "0.0000"
	# %% is a percent sign
	tts-synth --voice "$V" -o 'p%%.wav' "One."
	[ -s 'p%.wav' ]
}

@test "a long sentence is synthesized in pieces, without gaps" {
	t=$(for i in $(seq 60); do printf 'word%d and ' $i; done; echo end)
	run tts-synth --voice "$V" -o long.wav --timestamps l.tsv "$t"
	assert_success
	n=$(wav_samples long.wav)
	awk -F'\t' -v n="$n" 'NR > 1 && $2 == "phone" { if ($3 - prev > 1e-4 || prev - $3 > 1e-4) exit 1; prev = $4; k++ }
		END { if (k < 400 || prev - n / 22050 > 1e-4 || n / 22050 - prev > 1e-4) exit 1 }' l.tsv
}

# ---- bad input ------------------------------------------------------------------------------

@test "empty text: a warning, exit 0, no output file" {
	: > empty.txt
	run tts-synth --voice "$V" -o e.wav < empty.txt
	assert_success
	assert_output --partial "nothing to say"
	[ ! -e e.wav ]
	run tts-synth --voice "$V" -o e.wav --timestamps e.tsv ""
	assert_success
	[ ! -e e.wav ] && [ ! -e e.tsv ]
	printf '\n  \n\t\n' > blank.txt
	run tts-synth --voice "$V" -i blank.txt -o e.wav
	assert_success
	[ ! -e e.wav ]
	assert_equal "$(ls -A | tr "\n" " ")" "blank.txt empty.txt "
}

@test "binary garbage: invalid UTF-8 ignored with a warning" {
	printf 'Hello \377\376\300 world \355\240\200.\n' > g.txt
	run tts-synth --voice "$V" -i g.txt -o g.wav
	assert_success
	assert_output --partial "g.txt: line 1: 6 bytes of invalid UTF-8 ignored"
	tts-synth --voice "$V" -o ref.wav "Hello world."
	cmp g.wav ref.wav
	head -c 4000 /dev/urandom > r.bin
	run tts-synth --voice "$V" -i r.bin -o r.wav
	assert_success
	run tts-synth --phonemes -i r.bin
	assert_success
}

@test "unknown characters: dropped; nothing left is a warning" {
	run tts-synth --voice "$V" -o u.wav "☃ ∰ ☃"
	assert_success
	assert_output --partial "nothing to say"
	[ ! -e u.wav ]
	tts-synth --voice "$V" -o a.wav "Hello ☃ world."
	tts-synth --voice "$V" -o b.wav "Hello world."
	cmp a.wav b.wav
	# in a batch, a line with nothing to say is skipped, the rest is written
	printf 'One.\n☃\n' | tts-synth --voice "$V" -o 'b_%d.wav' 2> err
	grep -q "line 2: nothing to say" err
	[ -s b_1.wav ] && [ ! -e b_2.wav ]
}

@test "a 1 MB line: a clear error, nothing written" {
	head -c 1000000 /dev/zero | tr '\0' a > big.txt
	run tts-synth --voice "$V" -i big.txt -o big.wav --timestamps big.tsv
	assert_failure 1
	assert_output "tts-synth: big.txt: line 1 is 1000000 bytes, over the limit of 65536 (put one utterance or sentence per line)"
	assert_equal "$(ls -A)" "big.txt"
	run tts-synth --voice "$V" -o big.wav "$(head -c 70000 big.txt)"
	assert_failure 1
	assert_output --partial "over the limit of 65536"
}

@test "missing or broken voice" {
	run tts-synth --voice nope -o x.wav "Hi."
	assert_failure 1
	assert_output --partial "tts-synth: cannot load voice 'nope':"
	run tts-synth --voice "$BATS_FILE_TMPDIR/nosym" -o x.wav "Hi."
	assert_failure 1
	assert_output --partial "config.json has no \"symbols\" list"
	run tts-synth --voice "$BATS_FILE_TMPDIR/nozh" -o x.wav "Hi."
	assert_failure 1
	assert_output --partial "no symbol for phone 'zh' (wanted '@ZH' or 'ZH')"
	[ ! -e x.wav ]
	if [ ! -e "$TOP/share/diffcore/models/tts-slt/config.json" ]; then
		run tts-synth -o x.wav "Hi."
		assert_failure 1
		assert_output --partial "no default voice is installed"
		assert_output --partial "give --voice DIR"
	fi
}

@test "usage errors exit 2" {
	for a in "--speed 0" "--speed x" "--pitch -1" "--gl-iters 0" "--sentence-silence -1"; do
		run tts-synth --voice "$V" $a "Hi."
		assert_failure 2
	done
	run tts-synth --voice "$V" -o 'x%s.wav' "Hi."
	assert_failure 2
	assert_output --partial "invalid -o pattern"
	run tts-synth -i in.txt "Hi."
	assert_failure 2
	run tts-synth --phonemes --timestamps t.tsv "Hi."
	assert_failure 2
	run tts-synth --no-such-option
	assert_failure 2
	run tts-synth --help
	assert_success
	assert_output --partial "usage: tts-synth"
}

# ---- the man page's examples --------------------------------------------------------------------

@test "man page examples" {
	grep -q 'tts-synth --phonemes "Dr. Smith paid \\\\\$5 on 1/2/2024."' "$TOP/man/man1/tts-synth.1"
	run tts-synth --phonemes "Dr. Smith paid \$5 on 1/2/2024."
	assert_success
	assert_output --partial "d aa1 k t er0"
	tts-synth --voice "$V" -o hello.wav "Hello, world."
	[ -s hello.wav ]
	printf 'First line.\nSecond line.\n' > lines.txt
	tts-synth --voice "$V" -i lines.txt -o 'line_%03d.wav' --timestamps times.tsv
	[ -s line_001.wav ] && [ -s line_002.wav ]
	if [ -x "$(command -v sox)" ]; then
		echo "The quick brown fox." | tts-synth --voice "$V" | sox -t wav - -r 16000 fox16k.wav
		[ -s fox16k.wav ]
	fi
	printf 'Makefile line one.\n' > one.txt
	printf 'Line two.\n' > two.txt
	printf 'VOICE = %s\n%%.wav: %%.txt\n\ttts-synth --voice $(VOICE) -i $< -o $@\n' "$V" > Makefile
	make -s one.wav two.wav
	[ -s one.wav ] && [ -s two.wav ]
}
