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

# ---- --stream and --raw -------------------------------------------------------------------------

# two lines (a blank one between), three sentences: silences between sentences and lines
stream_text() { printf 'Hello there. How are you today?\n\nSecond line here.\n'; }

@test "--stream: the samples of the whole-file WAV, header sizes unknown on a pipe" {
	stream_text > in.txt
	tts-synth --voice "$V" -i in.txt -o a.wav --timestamps a.tsv
	tts-synth --voice "$V" -i in.txt --stream --timestamps s.tsv | cat > s.wav
	# RIFF and data sizes 0xFFFFFFFF, the rest of the header libsndfile's
	assert_equal "$(od -An -tx4 -j4 -N4 s.wav | tr -d ' ')" ffffffff
	assert_equal "$(od -An -tx4 -j40 -N4 s.wav | tr -d ' ')" ffffffff
	cmp <(head -c 4 a.wav; tail -c +9 a.wav | head -c 32) <(head -c 4 s.wav; tail -c +9 s.wav | head -c 32)
	cmp <(tail -c +45 a.wav) <(tail -c +45 s.wav)
	cmp a.tsv s.tsv
	# to a regular file (-o or a redirection) the sizes are patched: the same bytes
	tts-synth --voice "$V" -i in.txt --stream -o f.wav
	cmp a.wav f.wav
	tts-synth --voice "$V" -i in.txt --stream > r.wav
	cmp a.wav r.wav
	# a FIFO is written in place
	mkfifo p.fifo
	cat p.fifo > p.wav &
	tts-synth --voice "$V" -i in.txt --stream -o p.fifo
	wait
	cmp <(tail -c +45 a.wav) <(tail -c +45 p.wav)
	if [ -x "$(command -v sox)" ]; then
		tts-synth --voice "$V" -i in.txt --stream | sox -q -t wav - x.wav
		cmp a.wav x.wav
	fi
}

@test "--stream writes a sentence before synthesizing the next line" {
	# line 1 makes more audio than a pipe holds; once head has its 46 bytes and
	# exits, a streaming writer dies of SIGPIPE in line 1 and never reaches line 3
	t=$(for i in $(seq 40); do printf 'word%d and ' $i; done; echo end.)
	printf '%s\n\n☃\n' "$t" > in.txt
	tts-synth --voice "$V" -i in.txt -o big.wav
	[ "$(stat -c %s big.wav)" -gt 262144 ]
	{ tts-synth --voice "$V" -i in.txt --stream 2> err.s || true; } | head -c 46 > /dev/null
	run grep -c "line 3: nothing to say" err.s
	assert_output 0
	# the control: without --stream every line is synthesized before the first byte
	{ tts-synth --voice "$V" -i in.txt 2> err.w || true; } | head -c 46 > /dev/null
	grep -q "line 3: nothing to say" err.w
}

@test "--raw: 16-bit little-endian samples without a header, with and without --stream" {
	stream_text > in.txt
	tts-synth --voice "$V" -i in.txt -o a.wav
	tts-synth --voice "$V" -i in.txt --raw > a.raw
	assert_equal "$(stat -c %s a.raw)" $(( 2 * $(wav_samples a.wav) ))
	cmp <(tail -c +45 a.wav) a.raw
	tts-synth --voice "$V" -i in.txt --raw --stream | cat > s.raw
	cmp a.raw s.raw
	tts-synth --voice "$V" -i in.txt --raw --stream -o f.raw
	cmp a.raw f.raw
	# one raw file per line with a pattern
	tts-synth --voice "$V" -i in.txt --raw -o 'l_%d.raw'
	tts-synth --voice "$V" --raw -o l3.raw "Second line here."
	cmp l3.raw l_3.raw
}

@test "--stream: usage errors, write errors, nothing to say" {
	run tts-synth --voice "$V" --stream -o 'x_%d.wav' "Hi."
	assert_failure 2
	assert_output --partial "not a file per line"
	run tts-synth --voice "$V" --stream -o x.flac "Hi."
	assert_failure 2
	assert_output --partial "not FLAC"
	run tts-synth --voice "$V" --raw -o x.flac "Hi."
	assert_failure 2
	run tts-synth --phonemes --stream "Hi."
	assert_failure 2
	run tts-synth --phonemes --raw "Hi."
	assert_failure 2
	[ ! -e x.flac ] && [ ! -e x_1.wav ]
	# a write error midway: one line, exit 1
	run tts-synth --voice "$V" --stream -o /dev/full "Hi. Ho."
	assert_failure 1
	assert_output "tts-synth: cannot write '/dev/full': No space left on device"
	# a reader that goes away: SIGPIPE (or exit 1), no hang
	stream_text > in.txt
	run bash -c "tts-synth --voice '$V' -i in.txt --stream | head -c 10 > /dev/null; echo \${PIPESTATUS[0]}"
	[[ "$output" == 141 || "$output" == 1 ]]
	# nothing to say: a warning and not even a header; no file
	run tts-synth --voice "$V" --stream -o e.wav "☃"
	assert_success
	assert_output --partial "nothing to say"
	[ ! -e e.wav ]
	tts-synth --voice "$V" --stream "☃" > e.out 2> /dev/null
	[ ! -s e.out ]
}

@test "--stream with the default voice: the same samples, neural and Griffin-Lim" {
	[ -f "$TOP/share/diffcore/models/tts-slt/config.json" ] || skip "no default voice installed"
	command -v sox > /dev/null || skip "no sox"
	stream_text > in.txt
	for voc in vocos griffin-lim; do
		[ $voc = vocos ] && [ ! -d "$TOP/share/diffcore/models/tts-slt/vocoder" ] && continue
		tts-synth -t 2 --vocoder $voc -i in.txt -o a.wav
		tts-synth -t 2 --vocoder $voc -i in.txt --stream | sox -q -t wav - s.wav
		sox a.wav -t raw a.pcm
		sox s.wav -t raw s.pcm
		[ -s a.pcm ]
		cmp a.pcm s.pcm
		tts-synth -t 2 --vocoder $voc -i in.txt --stream --raw | cmp a.pcm -
	done
}

# ---- the default voice (share/diffcore/models/tts-slt: FastSpeech 2 + Vocos) -------------------

have_default() { [ -e "$TOP/share/diffcore/models/tts-slt/config.json" ]; }
# rough F0 of a WAV: sox's zero-crossing frequency after a 60-320 Hz band-pass
rough_f0() { sox "$1" -n sinc 60-320 stat 2>&1 | awk '/Rough/ { print $3 }'; }
# RMS amplitude
rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ { print $3 }'; }

@test "default voice: echo text | tts-synth -o out.wav speaks, at 22050 Hz, with the neural vocoder" {
	have_default || skip "no default voice in this tree"
	echo "The quick brown fox jumps over the lazy dog." | tts-synth -o fox.wav
	[ "$(wav_rate fox.wav)" = 22050 ]
	n=$(wav_samples fox.wav)
	# about 2.5 s of speech, not silence, not clipped noise
	[ "$n" -gt 40000 ] && [ "$n" -lt 90000 ]
	awk -v r="$(rms fox.wav)" 'BEGIN { exit !(r > 0.02 && r < 0.5) }'
	tts-synth --vocoder vocos -o fox2.wav "The quick brown fox jumps over the lazy dog."
	cmp fox.wav fox2.wav
	tts-synth --vocoder griffin-lim -o foxgl.wav "The quick brown fox jumps over the lazy dog."
	[ "$(wav_samples foxgl.wav)" = "$n" ]
	! cmp -s fox.wav foxgl.wav
	# its pitch shift (by resampling) has a range
	run tts-synth --pitch 5 -o x.wav "Hi."
	assert_failure 2
	assert_output --partial "--pitch 5: this voice shifts pitch by resampling, from 0.25 to 4"
	[ ! -e x.wav ]
}

@test "--vocoder: vocos needs a voice with one; other names are usage errors" {
	run tts-synth --voice "$V" --vocoder vocos -o x.wav "Hi."
	assert_failure 1
	assert_output --partial "has no neural vocoder"
	[ ! -e x.wav ]
	run tts-synth --voice "$V" --vocoder hifigan -o x.wav "Hi."
	assert_failure 2
	assert_output --partial "--vocoder: 'hifigan' is not vocos or griffin-lim"
	# a broken vocoder folder is an error naming it
	mkdir -p bad && cp "$V"/* bad/ && mkdir bad/vocoder && echo '{"model_type": "vocos"}' > bad/vocoder/config.json
	run tts-synth --voice bad -o x.wav "Hi."
	assert_failure 1
	assert_output --partial "tts-synth: cannot load voice 'bad':"
	[ ! -e x.wav ]
}

@test "a voice whose vocoder is center-padded (vocos_convert.py of an official release) is refused" {
	mkdir -p cv && cp "$V"/* cv/ && cp -r "$TOP/tests/golden/vocos/official" cv/vocoder
	grep -q '"padding": "center"' cv/vocoder/config.json
	run tts-synth --voice cv -o x.wav "Hi."
	assert_failure 1
	assert_output --partial "tts-synth: cannot load voice 'cv':"
	assert_output --partial 'tts-synth needs a "same"-padded Vocos'
	[ "${#lines[@]}" -eq 1 ]
	[ ! -e x.wav ]
	# the same folder marked "same" passes that check (and fails on its 100 mels instead)
	sed -i 's/"padding": "center"/"padding": "same"/' cv/vocoder/config.json
	run tts-synth --voice cv -o x.wav "Hi."
	assert_failure 1
	refute_output --partial "padded Vocos"
	assert_output --partial "vocoder: 100 mels"
}

@test "default voice: --speed 0.5 and 2 scale the length (within 5%), --pitch keeps it" {
	have_default || skip "no default voice in this tree"
	t="Seven sailors sang a merry song along the river all evening, and the old captain listened."
	tts-synth -o s1.wav "$t"
	tts-synth --speed 0.5 -o s05.wav "$t"
	tts-synth --speed 2 -o s2.wav "$t"
	tts-synth --pitch 1.25 -o p125.wav "$t"
	n=$(wav_samples s1.wav)
	awk -v a="$(wav_samples s05.wav)" -v b="$(wav_samples s2.wav)" -v c="$(wav_samples p125.wav)" -v n="$n" \
		'BEGIN { exit !(a / n > 1.95 && a / n < 2.05 && b / n > 0.475 && b / n < 0.525 && c / n > 0.98 && c / n < 1.02) }'
	# --speed keeps the pitch
	command -v sox > /dev/null || skip "no sox"
	awk -v a="$(rough_f0 s1.wav)" -v b="$(rough_f0 s05.wav)" -v c="$(rough_f0 s2.wav)" \
		'BEGIN { exit !(b / a > 0.9 && b / a < 1.1 && c / a > 0.9 && c / a < 1.1) }'
}

@test "default voice: --pitch shifts F0 up and down" {
	have_default || skip "no default voice in this tree"
	command -v sox > /dev/null || skip "no sox"
	t="Seven sailors sang a merry song along the river all evening, and the old captain listened."
	tts-synth -o p1.wav "$t"
	tts-synth --pitch 0.8 -o p08.wav "$t"
	tts-synth --pitch 1.25 -o p125.wav "$t"
	f1=$(rough_f0 p1.wav) lo=$(rough_f0 p08.wav) hi=$(rough_f0 p125.wav)
	echo "rough F0: 0.8 -> $lo, 1 -> $f1, 1.25 -> $hi" >&3
	awk -v a="$f1" -v l="$lo" -v h="$hi" 'BEGIN { exit !(l / a < 0.9 && h / a > 1.12) }'
	# and with Griffin-Lim
	tts-synth --vocoder griffin-lim --pitch 1.25 -o g125.wav "$t"
	tts-synth --vocoder griffin-lim -o g1.wav "$t"
	awk -v a="$(rough_f0 g1.wav)" -v h="$(rough_f0 g125.wav)" 'BEGIN { exit !(h / a > 1.12) }'
}

@test "default voice: timestamps cover every word of a hard input, in order" {
	have_default || skip "no default voice in this tree"
	tts-synth --timestamps t.tsv -o hard.wav "Call 1-800-555-0199 or mail info@example.com before 3:45 p.m. on Jan. 2nd, 2024."
	# words in order, each at least 40 ms, contiguous with the audio's length
	awk -F'\t' -v n="$(wav_samples hard.wav)" 'NR > 1 && $2 == "word" { w++; if ($4 - $3 < 0.04) bad++; if ($3 < last) bad++; last = $4 }
		END { if (w < 20 || bad || last > n / 22050 + 0.01) exit 1 }' t.tsv
}

@test "man page: the --stream examples" {
	grep -q 'tts-synth --stream < book.txt | sox -q -t wav - book.flac' "$TOP/man/man1/tts-synth.1"
	grep -q 'tts-synth --stream --raw < book.txt | aplay -t raw -f S16_LE -r 22050' "$TOP/man/man1/tts-synth.1"
	command -v sox > /dev/null || skip "no sox"
	printf 'First sentence. Second one.\nA second line.\n' > book.txt
	tts-synth --voice "$V" --stream < book.txt | sox -q -t wav - book.flac
	tts-synth --voice "$V" -o book.wav < book.txt
	assert_equal "$(soxi -s book.flac)" "$(wav_samples book.wav)"
	tts-synth --voice "$V" --stream --raw < book.txt | sox -t raw -e signed -b 16 -c 1 -r 22050 - raw.wav
	cmp book.wav raw.wav
}

@test "--mel: the mel and duration stream instead of audio; durations add up to the frames" {
	printf 'Hello there. How are you?\nSecond line.\n' > two.txt
	tts-synth --voice "$V" --sentence-silence 0 -i two.txt -o audio.wav
	tts-synth --voice "$V" --sentence-silence 0 -i two.txt --mel -o mel.dts --timestamps t.tsv
	run tensor-tool info mel.dts
	assert_success
	# one mel + durations pair per synthesis call (here one per sentence: 3)
	[ "$(grep -c $'\tmel\tF32\t' <<< "$output")" = 3 ]
	[ "$(grep -c $'\tdurations\tI32\t' <<< "$output")" = 3 ]
	assert_output --partial "utterance=2"
	# each piece's durations sum to its frames; all frames * hop = the audio's samples
	hop=256   # the test voice's (default) hop_length
	total=0
	for i in 0 2 4; do
		frames=$(tensor-tool info mel.dts | awk -F'\t' -v i=$i '$1 == i { split($4, s, "x"); print s[1] }')
		sum=$(tensor-tool to-csv -s $((i + 1)) mel.dts | tr ',' '\n' | awk '{ s += $1 } END { print s }')
		[ "$frames" = "$sum" ]
		total=$((total + frames))
	done
	[ $((total * hop)) = "$(wav_samples audio.wav)" ]
	[ -s t.tsv ]
	# stdout, and the usage errors
	tts-synth --voice "$V" --mel "Hi." | tensor-tool info - > /dev/null
	for a in --stream --raw --phonemes "--vocoder griffin-lim"; do
		run tts-synth --voice "$V" --mel $a -o x.dts "Hi."
		assert_failure 2
		assert_output --partial "--mel writes the mel and duration stream, not audio"
	done
	run tts-synth --voice "$V" --mel -o 'x%d.dts' "Hi."
	assert_failure 2
	[ ! -e x.dts ]
}

@test "voice config: bad \"phonemizer\" or \"pitch_control\" is an error; --mel with a resampling --pitch is a usage error" {
	for kv in '"phonemizer": "espeak"' '"phonemizer": 3' '"pitch_control": "warp"'; do
		mkdir -p bv && cp "$V/model.safetensors" bv/
		sed '$ s/}[[:space:]]*$/, '"$kv"'}/' "$V/config.json" > bv/config.json
		run tts-synth --voice bv -o x.wav "Hi."
		assert_failure 1
		assert_output --regexp "tts-synth: cannot load voice 'bv': config.json: \"(phonemizer|pitch_control)\" must be"
		[ ! -e x.wav ]
	done
	mkdir -p rv && cp "$V/model.safetensors" rv/
	sed '$ s/}[[:space:]]*$/, "pitch_control": "resample"}/' "$V/config.json" > rv/config.json
	run tts-synth --voice rv --mel --pitch 1.2 -o x.dts "Hi."
	assert_failure 2
	assert_output --partial "--pitch with --mel: this voice shifts pitch by resampling the audio"
	run tts-synth --voice rv --pitch 4.5 -o x.wav "Hi."
	assert_failure 2
	tts-synth --voice rv --pitch 1.2 -o ok.wav "Hi."
	[ -s ok.wav ]
}
