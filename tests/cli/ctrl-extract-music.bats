#!/usr/bin/env bats
# ctrl-extract-music.bats - the music conditions of ctrl-extract(1):
# melody, dynamics and rhythm on synthetic audio with known notes and beats
# (made with awk + tensor-tool, no external tools), the CSV output, the
# examples of the man page's music block, and bad input (one-line error,
# exit 1, no -o file left behind).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

setup() {
	command -v ctrl-extract >/dev/null || skip "ctrl-extract not built"
	cd "$BATS_TEST_TMPDIR"
}

# song.wav: 6 s at 22050 Hz, 120 bpm, one note per beat (A C E G D B
# repeating, MIDI 69 72 76 79 74 71) with a click on every beat.
make_song() {
	[ -f song.wav ] && return 0
	awk 'BEGIN { sr = 22050; pi = 3.141592653589793; spb = 0.5; print "x";
		split("69 72 76 79 74 71", m, " ");
		for (i = 0; i < 6 * sr; i++) { t = i / sr; b = int(t / spb); tb = t - b * spb;
			f = 440 * 2 ^ ((m[(b % 6) + 1] - 69) / 12);
			v = 0.3 * sin(2 * pi * f * tb) * exp(-2 * tb);
			if (tb < 0.01) v += 0.5 * (1 - tb / 0.01) * (((i * 7919) % 13) - 6) / 6;
			printf "%.6f\n", v } }' > song.csv
	tensor-tool from-csv -T F32 song.csv | tensor-tool to-wav -R 22050 > song.wav
}

# wav_header CHANNELS RATE DATA_BYTES: a 44-byte PCM-16 RIFF header.
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }
le16() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))"; }
wav_header() {
	printf 'RIFF'; le32 $((36 + $3)); printf 'WAVEfmt '; le32 16; le16 1; le16 "$1"
	le32 "$2"; le32 $(($2 * $1 * 2)); le16 $(($1 * 2)); le16 16; printf 'data'; le32 "$3"
}

@test "melody: one-hot [T][12] record with its definition in the metadata" {
	make_song
	run ctrl-extract melody song.wav -o mel.dts
	assert_success
	run tensor-tool info mel.dts
	assert_success
	assert_output --partial "melody	F32	1034x12	control.melody"
	assert_output --partial "frame_rate=172.265625"
	assert_output --partial "sample_rate=44100"
	assert_output --partial "source_sample_rate=22050"
	assert_output --partial "cutoff=261.2"
	# every row is one-hot
	run sh -c 'tensor-tool to-csv mel.dts | awk -F, "NR > 1 { s = 0; for (i = 1; i <= NF; i++) s += \$i; if (s != 1) bad++ } END { print bad + 0 }"'
	assert_output "0"
}

@test "melody --csv: the notes of the song in order" {
	make_song
	run --separate-stderr ctrl-extract melody --csv song.wav
	assert_success
	assert_line --index 0 "time,pitch_class,note"
	# majority note per beat (0.5 s) over the 12 beats
	notes=$(echo "$output" | awk -F, 'NR > 1 { b = int($1 / 0.5); c[b, $3]++; if (c[b, $3] > best[b]) { best[b] = c[b, $3]; n[b] = $3 } }
		END { for (b = 0; b < 12; b++) printf "%s ", n[b] }')
	[ "$notes" = "A C E G D B A C E G D B " ]
}

@test "melody --cutoff 0 disables the high-pass filter" {
	make_song
	run ctrl-extract melody --cutoff 0 song.wav -o m0.dts
	assert_success
	run tensor-tool info m0.dts
	assert_output --partial "filter=none"
}

@test "dynamics: dB curve, Savitzky-Golay window in the metadata, CSV" {
	make_song
	run ctrl-extract dynamics song.wav -o dyn.dts
	assert_success
	run tensor-tool info dyn.dts
	assert_output --partial "dynamics	F32	1654	control.dynamics"
	assert_output --partial "frame_rate=275.625"
	assert_output --partial "savgol_window=275"
	run --separate-stderr ctrl-extract dynamics --csv --savgol-window 101 --amplitude-db song.wav
	assert_success
	assert_line --index 0 "time,db"
	# levels are relative to the loudest frame: at most ~0 dB, and > -80
	echo "$output" | awk -F, 'NR > 1 && ($2 > 1 || $2 < -81) { exit 1 }'
	[ "$(echo "$output" | wc -l)" -eq 1655 ]
}

@test "rhythm: five records, tempo near 120 bpm, beats every 0.5 s" {
	make_song
	run ctrl-extract rhythm song.wav -o r.dts
	assert_success
	run tensor-tool info r.dts
	assert_output --partial "onset_strength	F32	259	control.rhythm.onset"
	assert_output --partial "beat_activation	F32	259	control.rhythm.beat"
	assert_output --partial "downbeat_activation	F32	259	control.rhythm.downbeat"
	assert_output --partial "control.rhythm.beat_times"
	assert_output --partial "control.rhythm.downbeat_times"
	tempo=$(tensor-tool info r.dts | sed -n 's/.*tempo=\([0-9.]*\).*/\1/p' | head -1)
	awk -v t="$tempo" 'BEGIN { exit !(t > 115 && t < 125) }'
	# beat times: consecutive gaps of 0.5 s +- 35 ms, each within 70 ms of a multiple of 0.5 s
	run sh -c 'tensor-tool pick beats < r.dts | tensor-tool to-csv'
	assert_success
	echo "$output" | awk -F, 'NR > 1 { n++; d = $1 - 0.5 * int($1 / 0.5 + 0.5); if (d < -0.07 || d > 0.07) exit 1;
		if (n > 1 && ($1 - p < 0.465 || $1 - p > 0.535)) exit 1; p = $1 } END { if (n < 8) exit 1 }'
}

@test "rhythm --csv: beat and downbeat flags; --activation-rate resamples the activations" {
	make_song
	run --separate-stderr ctrl-extract rhythm --csv --beats-per-bar 3 song.wav
	assert_success
	assert_line --index 0 "time,onset,beat,downbeat"
	nb=$(echo "$output" | awk -F, 'NR > 1 && $3 == 1' | wc -l)
	nd=$(echo "$output" | awk -F, 'NR > 1 && $4 == 1' | wc -l)
	[ "$nb" -ge 8 ] && [ "$nd" -ge 2 ] && [ "$nd" -le $(( (nb + 2) / 3 )) ]
	run ctrl-extract rhythm --activation-rate 100 song.wav -o r100.dts
	assert_success
	run tensor-tool info r100.dts
	assert_output --partial "beat_activation	F32	601	control.rhythm.beat"
	assert_output --partial "frame_rate=100"
}

@test "rhythm --bpm fixes the tempo" {
	make_song
	run ctrl-extract rhythm --bpm 60 song.wav -o r60.dts
	assert_success
	run tensor-tool info r60.dts
	assert_output --partial "tempo=60"
	assert_output --partial "tempo_source=--bpm"
}

@test "music conditions read stdin and stereo FLAC-like input" {
	make_song
	run sh -c 'ctrl-extract rhythm --csv < song.wav | head -1'
	assert_output "time,onset,beat,downbeat"
	# a two-channel file (same signal twice) gives the same melody as mono
	tensor-tool from-csv -T F32 song.csv > m.dts
	paste -d, song.csv song.csv > st.csv
	tensor-tool from-csv -T F32 st.csv | tensor-tool to-wav -R 22050 > st.wav
	run sh -c 'ctrl-extract melody --csv st.wav | md5sum; ctrl-extract melody --csv song.wav | md5sum'
	[ "${lines[0]}" = "${lines[1]}" ]
}

@test "man page examples of the music block run" {
	make_song
	man="$DC_TOP/man/man1/ctrl-extract.1"
	sed -n '/begin: examples/,/end: examples/p' "$man" |
		sed -n '/^\.\\" music examples begin/,/^\.\\" music examples end/p' |
		grep -E '^(ctrl-extract|tensor-tool)' |
		sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g' > ex.sh
	[ "$(wc -l < ex.sh)" -ge 4 ]
	run sh -e ex.sh
	assert_success
	[ -s melody.dts ] && [ -s dynamics.dts ] && [ -s beats.csv ] && [ -s cond.dts ]
	run tensor-tool info cond.dts
	assert_output --partial "control.melody"
	assert_output --partial "control.dynamics"
	assert_output --partial "control.rhythm.beat_times"
}

@test "same bytes for any thread count" {
	make_song
	for c in melody dynamics rhythm; do
		ctrl-extract "$c" -t 1 song.wav -o "$c.1.dts"
		ctrl-extract "$c" -t 2 song.wav -o "$c.2.dts"
		DIFFCORE_NUM_THREADS=3 ctrl-extract "$c" song.wav -o "$c.3.dts"
		cmp "$c.1.dts" "$c.2.dts"
		cmp "$c.1.dts" "$c.3.dts"
	done
}

@test "usage errors exit 2" {
	make_song
	run -2 ctrl-extract rhythm --cutoff 100 song.wav
	run -2 ctrl-extract dynamics --savgol-window 100 song.wav
	run -2 ctrl-extract melody --n-fft 1001 song.wav
	run -2 ctrl-extract melody --cutoff 30000 song.wav
	run -2 ctrl-extract melody song.wav song.wav
	run -2 ctrl-extract rhythm --beats-per-bar 0 song.wav
}

@test "bad input: not audio, truncated, zero-length, 0 channels: exit 1, one line, no output file" {
	make_song
	echo "hello, this is not audio" > text.wav
	head -c 30 song.wav > trunc.wav
	wav_header 1 22050 0 > empty.wav
	wav_header 0 22050 64 > zeroch.wav
	head -c 64 /dev/zero >> zeroch.wav
	head -c 2000 /dev/urandom > garbage.wav
	: > nothing.wav
	for f in text.wav trunc.wav empty.wav zeroch.wav garbage.wav nothing.wav; do
		for c in melody dynamics rhythm; do
			run --separate-stderr ctrl-extract "$c" "$f" -o out.dts
			[ "$status" -eq 1 ] || { echo "$c $f: status $status"; return 1; }
			[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || { echo "$c $f: $stderr"; return 1; }
			[[ "$stderr" == "ctrl-extract: cannot read '$f'"* ]] || { echo "$stderr"; return 1; }
			[ ! -e out.dts ]
			[ -z "$(ls -A | grep "out\.dts" || true)" ] || { ls -A; return 1; }
		done
	done
	run --separate-stderr ctrl-extract melody missing.wav -o out.dts
	assert_failure 1
	[ ! -e out.dts ]
}
