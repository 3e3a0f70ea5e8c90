#!/usr/bin/env bats
# ts-forecast.bats - ts-forecast(1): fit / predict / eval / info on a small
# synthetic hourly table (600 rows of daily and weekly sines and noise),
# determinism of model files, intervals and the plot, gzip and stream input, every
# bad input (one-line error, exit 1), and the man page's examples.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	TOP=${DC_TOP:-$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)}
	cd "$BATS_TEST_TMPDIR"
	mkdata data.csv 600
}

# mkdata FILE ROWS: hourly rows from 2020-01-01, columns load, temp, OT
mkdata() {
	awk -v n="$2" 'BEGIN { print "date,load,temp,OT"; srand(7);
		for (i = 0; i < n; i++) { d = int(i / 24); h = i % 24;
			m = 1 + int(d / 31); dd = 1 + d % 31;
			printf "2020-%02d-%02d %02d:00:00,%.4f,%.4f,%.4f\n", m, dd, h,
				10 + 3 * sin(2 * 3.14159265 * i / 24) + rand() * 0.3,
				20 + 5 * sin(2 * 3.14159265 * i / 168) + rand() * 0.3,
				5 + 2 * sin(2 * 3.14159265 * i / 24 + 1) + sin(2 * 3.14159265 * i / 168) + rand() * 0.2 } }' > "$1"
}

FIT=(--seq-len 48 --horizon 24 --epochs 3)

@test "fit writes a model file; info describes it" {
	run ts-forecast fit "${FIT[@]}" data.csv -o m.st
	assert_success
	[ -s m.st ]
	run ts-forecast info m.st
	assert_success
	assert_line --partial $'model\tDLinear'
	assert_line $'columns\tload,temp,OT'
	assert_line $'freq\th'
	assert_line $'last_timestamp\t2020-01-25 23:00:00'
	assert_line $'parameters\t2352'
	assert_line --partial 'Linear_Seasonal.weight	[24, 48]'
}

@test "predict: future timestamps, original units, intervals bracket the forecast" {
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	run --separate-stderr ts-forecast predict --interval 0.9 m.st data.csv
	assert_success
	[ "${lines[0]}" = "date,load,load_lower,load_upper,temp,temp_lower,temp_upper,OT,OT_lower,OT_upper" ]
	[ "${#lines[@]}" -eq 25 ]
	assert_line --index 1 --regexp '^2020-01-26 00:00:00,'
	assert_line --index 24 --regexp '^2020-01-26 23:00:00,'
	# values in original units (load ~ 7..13) and lower <= point <= upper
	echo "$output" | awk -F, 'NR > 1 { if ($2 < 5 || $2 > 15 || $3 > $2 || $4 < $2 || $9 > $8 || $10 < $8) bad++ }
		END { exit bad > 0 }'
	# a wider level gives a wider interval
	ts-forecast predict --interval 0.5 m.st data.csv > narrow.csv
	paste -d, <(echo "$output") narrow.csv | awk -F, 'NR > 1 { if ($4 - $3 < $14 - $13) bad++ } END { exit bad > 0 }'
}

@test "predict writes the timestamps in the input's layout, under its column name" {
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	# 'T' and 'Z', minutes only, slashes, each under another column name
	awk -F, 'BEGIN { OFS = "," } NR == 1 { $1 = "time" } NR > 1 { sub(" ", "T", $1); $1 = $1 "Z" } { print }' data.csv > iso.csv
	run ts-forecast predict m.st iso.csv
	assert_success
	assert_line --index 0 "time,load,temp,OT"
	assert_line --index 1 --regexp '^2020-01-26T00:00:00Z,'
	assert_line --index 24 --regexp '^2020-01-26T23:00:00Z,'
	awk -F, 'BEGIN { OFS = "," } NR == 1 { $1 = "when" } NR > 1 { gsub("-", "/", $1); sub(":00$", "", $1) } { print }' data.csv > hm.csv
	run ts-forecast predict m.st hm.csv
	assert_line --index 0 "when,load,temp,OT"
	assert_line --index 1 --regexp '^2020/01/26 00:00,'
	# daily dates stay dates
	awk 'BEGIN { print "day,v"; split("31 28 31 30", md, " ");
		for (m = 1; m <= 4; m++) for (d = 1; d <= md[m]; d++) { printf "2021-%02d-%02d,%.3f\n", m, d, sin(n / 3); n++ } }' > daily.csv
	ts-forecast fit --seq-len 14 --horizon 7 --epochs 2 daily.csv -o d.st
	run ts-forecast predict d.st daily.csv
	assert_success
	assert_line --index 0 "day,v"
	assert_line --index 1 --regexp '^2021-05-01,'
	assert_line --index 7 --regexp '^2021-05-07,'
}

@test "predict --plot writes a PNG" {
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	run ts-forecast predict --interval 0.8 --plot f.png m.st data.csv -o f.csv
	assert_success
	[ "$(head -c 8 f.png | od -An -tx1 | tr -d ' ')" = "89504e470d0a1a0a" ]
	[ "$(stat -c %s f.png)" -gt 1000 ]
	# the series' name above the chart and the times under its axis: dark pixels right of the
	# y labels in the top and bottom margins
	tensor-tool from-png f.png | tensor-tool set -S 360,2700 | tensor-tool to-csv > img.csv
	run awk -F, 'NR > 1 { y = NR - 2; for (i = 181; i <= NF; i++) if ($i < 200) { if (y >= 342 && y < 356) b++; if (y >= 2 && y < 14) t++ } }
		END { print (b > 1000) + 0, (t > 20) + 0 }' img.csv
	assert_output "1 1"
}

@test "predict --plot into a folder that does not exist: one-line error, no output, no temporary" {
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	run --separate-stderr ts-forecast predict --plot nodir/f.png m.st data.csv -o f.csv
	assert_failure 1
	[[ "$stderr" == "ts-forecast: cannot write 'nodir/f.png': No such file or directory" ]]
	[ ! -e f.csv ]
	[ -z "$(ls -A | grep '^\.')" ]
}

@test "fit and eval --log write one TSV line per epoch, the best marked, matching the model file" {
	ts-forecast fit "${FIT[@]}" --epochs 4 --patience 10 --log fit.tsv data.csv -o m.st
	[ "$(head -1 fit.tsv)" = "$(printf 'epoch\tlr\ttrain_loss\tval_loss\tbest')" ]
	[ "$(wc -l < fit.tsv)" -eq 5 ]
	# type1 (TSLib's): epochs 1 and 2 at the rate, halved from then on;
	# exactly one best row, at the lowest validation loss
	awk -F'\t' 'NR > 1 { if ($1 != NR - 1 || $2 != 0.001 / 2 ^ (NR > 3 ? NR - 3 : 0)) exit 1; nb += $5;
		if (min == "" || $4 < min) { min = $4; at = $1 } if ($5) b = $1 }
		END { exit !(nb == 1 && b == at) }' fit.tsv
	# the same best epoch as the model file's training log
	ts-forecast info m.st | grep -q "\"best_epoch\":$(awk -F'\t' '$5 == 1 { print $1 }' fit.tsv),"
	run --separate-stderr ts-forecast eval "${FIT[@]}" --epochs 2 --model NLinear --log ev.tsv data.csv
	assert_success
	[ "$(wc -l < ev.tsv)" -eq 3 ]
	# a device or FIFO is written through, not replaced
	mkfifo curve
	timeout 20 cat curve > got.tsv &
	ts-forecast eval "${FIT[@]}" --epochs 2 --model NLinear --log curve data.csv > /dev/null
	wait
	[ -p curve ]
	cmp ev.tsv got.tsv
	ts-forecast eval "${FIT[@]}" --epochs 1 --model NLinear --log /dev/null data.csv > /dev/null
	[ -c /dev/null ]
	# errors: empty name, the same file as -o, an option of fit and eval only, an unwritable path
	run --separate-stderr ts-forecast fit "${FIT[@]}" --log "" data.csv -o m2.st
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --log needs a file name" ]
	run --separate-stderr ts-forecast fit "${FIT[@]}" --log m2.st data.csv -o m2.st
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --log names the same file as -o or --checkpoint" ]
	run --separate-stderr ts-forecast eval "${FIT[@]}" --checkpoint ck --log ck data.csv
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --log names the same file as -o or --checkpoint" ]
	[ ! -e ck ]
	run --separate-stderr ts-forecast predict --log x.tsv m.st data.csv
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --log is an option of fit and eval" ]
	run --separate-stderr ts-forecast info --log x.tsv m.st
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --log is an option of fit and eval" ]
	[ ! -e x.tsv ]
	run --separate-stderr ts-forecast fit "${FIT[@]}" --log nodir/x.tsv data.csv -o m2.st
	assert_failure 1
	[ "$stderr" = "ts-forecast: cannot write 'nodir/x.tsv': No such file or directory" ]
	[ ! -e m2.st ]
}

@test "same seed and threads give identical model bytes; another seed does not" {
	ts-forecast fit "${FIT[@]}" -t 1 --seed 5 data.csv -o a.st
	ts-forecast fit "${FIT[@]}" -t 1 --seed 5 data.csv -o b.st
	ts-forecast fit "${FIT[@]}" -t 1 --seed 6 data.csv -o c.st
	cmp a.st b.st
	! cmp -s a.st c.st
	ts-forecast fit "${FIT[@]}" -t 2 --seed 5 --model NLinear data.csv -o d.st
	ts-forecast fit "${FIT[@]}" -t 2 --seed 5 --model NLinear data.csv -o e.st
	cmp d.st e.st
}

@test "eval prints a header and one TSV line with finite scores" {
	run --separate-stderr ts-forecast eval "${FIT[@]}" --model NLinear data.csv
	assert_success
	[ "${lines[0]}" = $'model\tdata\tseq_len\thorizon\tmse\tmae\tseconds' ]
	[ "${#lines[@]}" -eq 2 ]
	echo "${lines[1]}" | awk -F'\t' '$1 == "NLinear" && $2 == "data.csv" && $3 == 48 && $4 == 24 &&
		$5 > 0 && $5 < 1 && $6 > 0 && $6 < 1 { ok = 1 } END { exit !ok }'
	run ts-forecast eval -q --no-header "${FIT[@]}" --split 0.6,0.2,0.2 data.csv
	assert_success
	[ "${#lines[@]}" -eq 1 ]
}

@test "features S and MS forecast the target column only" {
	ts-forecast fit "${FIT[@]}" --features S --target temp data.csv -o s.st
	run ts-forecast predict s.st data.csv
	assert_success
	assert_line --index 0 "date,temp"
	ts-forecast fit "${FIT[@]}" --features MS --target temp data.csv -o ms.st
	run ts-forecast info ms.st
	assert_line $'columns\tload,OT,temp'
	run ts-forecast predict ms.st data.csv
	assert_line --index 0 "date,temp"
	run ts-forecast eval -q --no-header "${FIT[@]}" --features MS data.csv
	assert_success
}

@test "missing values are interpolated and reported; leading gaps refused" {
	awk -F, 'NR == 100 || NR == 101 { $3 = "" } { print }' OFS=, data.csv > gap.csv
	run --separate-stderr ts-forecast fit "${FIT[@]}" gap.csv -o g.st
	assert_success
	[[ "$stderr" == *"2 missing values filled by linear interpolation"* ]]
	# R's NA, SQL's null; a header written with blanks after the commas
	awk -F, 'NR == 1 { gsub(",", ", ") } NR == 100 { $3 = "NA" } NR == 101 { $2 = "null" } { print }' OFS=, data.csv > na.csv
	run --separate-stderr ts-forecast predict g.st na.csv
	assert_success
	[[ "$stderr" == *"'na.csv': 2 missing values filled by linear interpolation (first at 2020-01-05 02:00:00)"* ]]
	awk -F, 'NR == 2 { $2 = "" } { print }' OFS=, data.csv > lead.csv
	run --separate-stderr ts-forecast fit "${FIT[@]}" lead.csv -o g.st
	assert_failure 1
	[[ "$stderr" == *"column 'load': missing values at the start"* ]]
}

@test "a table without timestamps: rows are the steps, the forecast numbers them on" {
	cut -d, -f2- data.csv > plain.csv
	run --separate-stderr ts-forecast fit "${FIT[@]}" plain.csv -o p.st
	assert_success
	[ "$stderr" = "ts-forecast: warning: 'plain.csv': no timestamp column (the first column is a number); the rows are taken as steps 1 to 600, without time features" ]
	run ts-forecast info p.st
	assert_line $'freq\tnone'
	run --separate-stderr ts-forecast predict --interval 0.9 p.st plain.csv
	assert_success
	[ -z "$stderr" ]
	assert_line --index 0 "row,load,load_lower,load_upper,temp,temp_lower,temp_upper,OT,OT_lower,OT_upper"
	assert_line --index 1 --regexp '^601,'
	assert_line --index 24 --regexp '^624,'
	# the same rows with their timestamps give the same numbers (DLinear has no time features)
	ts-forecast fit "${FIT[@]}" data.csv -o m.st 2> /dev/null
	diff <(ts-forecast predict m.st data.csv | cut -d, -f2-) <(ts-forecast predict p.st plain.csv | cut -d, -f2-)
	# a model fitted without timestamps on a table with them: timestamps out, time features still zero
	run ts-forecast predict p.st data.csv
	assert_line --index 1 --regexp '^2020-01-26 00:00:00,'
	# the tensor stream has no time axis
	ts-forecast predict --tensor p.st plain.csv | tensor-tool to-csv - > t.csv
	[ "$(head -1 t.csv)" = "load,temp,OT" ]
	[ "$(wc -l < t.csv)" -eq 25 ]
	# and such a stream is read as a table without timestamps
	run --separate-stderr ts-forecast predict p.st <(tensor-tool from-csv plain.csv)
	assert_success
	assert_line --index 1 --regexp '^601,'
	# a model that uses time features fits and evaluates too
	run ts-forecast eval -q --no-header --model iTransformer --d-model 16 --d-ff 16 --epochs 1 --seq-len 48 --horizon 24 plain.csv
	assert_success
	[ "${#lines[@]}" -eq 1 ]
}

@test "a table of working days goes on over the weekends, without a warning" {
	# 2024-01-01 is a Monday; 150 working days, none on Saturday or Sunday
	for i in $(seq 0 209); do date -u -d "2024-01-01 +$i day" '+%F %u'; done |
		awk 'BEGIN { print "date,close" } $2 < 6 { printf "%s,%.3f\n", $1, 100 + sin(n / 4); n++ }' > bdays.csv
	run --separate-stderr ts-forecast fit --seq-len 20 --horizon 7 --epochs 1 bdays.csv -o b.st
	assert_success
	[ -z "$stderr" ]
	run --separate-stderr ts-forecast predict b.st bdays.csv
	[ -z "$stderr" ]
	[ "$(tail -n 1 bdays.csv | cut -d, -f1)" = "2024-07-26" ]   # a Friday
	[ "$(echo "$output" | cut -d, -f1 | tr '\n' ' ')" = "date 2024-07-29 2024-07-30 2024-07-31 2024-08-01 2024-08-02 2024-08-05 2024-08-06 " ]
	# a holiday is a missing row
	grep -v '^2024-03-29' bdays.csv > holiday.csv
	run --separate-stderr ts-forecast predict b.st holiday.csv
	[ "$stderr" = "ts-forecast: warning: 'holiday.csv': irregular timestamps: 1 of 148 steps not a working day (first after 2024-03-28 00:00:00: 4D); rows are taken as consecutive" ]
}

@test "missing rows (irregular timestamps) are reported, the rows taken as consecutive" {
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	awk 'NR != 50 && NR != 51 && NR != 300' data.csv > holes.csv
	run --separate-stderr ts-forecast predict m.st holes.csv
	assert_success
	[ "$stderr" = "ts-forecast: warning: 'holes.csv': irregular timestamps: 2 of 596 steps not 1h (first after 2020-01-02 23:00:00: 3h); rows are taken as consecutive" ]
	assert_line --index 1 --regexp '^2020-01-26 00:00:00,'
	run --separate-stderr ts-forecast predict m.st data.csv
	[ -z "$stderr" ]
}

@test "gzip, stdin and tensor-stream input" {
	tensor-tool from-csv data.csv -o data.dts
	ts-forecast fit "${FIT[@]}" -t 1 data.dts -o s.st
	gzip -c data.csv > data.csv.gz
	ts-forecast fit "${FIT[@]}" -t 1 data.csv -o a.st
	ts-forecast fit "${FIT[@]}" -t 1 data.csv.gz -o b.st
	cmp a.st b.st
	cmp a.st s.st
	run ts-forecast predict a.st < data.csv
	assert_success
	assert_line --index 1 --regexp '^2020-01-26 00:00:00,'
}

@test "predict --tensor writes the forecast as a tensor stream, the same table as the CSV" {
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	ts-forecast predict --interval 0.9 m.st data.csv -o f.csv
	run ts-forecast predict --interval 0.9 --tensor m.st data.csv -o f.dts
	assert_success
	[ "$(head -c 4 f.dts | od -An -tx1 | tr -d ' ')" = "89445453" ]
	run tensor-tool info f.dts
	assert_success
	assert_line --index 1 --regexp $'^0\tforecast\tF64\t24x9\tseries\t'
	assert_line --index 1 --partial 'columns=load,load_lower,load_upper,temp,temp_lower,temp_upper,OT,OT_lower,OT_upper'
	assert_line --index 1 --partial 'freq=3600'
	assert_line --index 1 --partial 'start=2020-01-26 00:00:00'
	assert_line --index 1 --partial 'model=DLinear'
	assert_line --index 1 --partial 'interval=0.9'
	# back to CSV: the same header, timestamps and values (the CSV has 8 digits)
	tensor-tool to-csv f.dts -o back.csv
	[ "$(head -1 back.csv)" = "$(head -1 f.csv)" ]
	diff <(cut -d, -f1 back.csv) <(cut -d, -f1 f.csv)
	[ "$(wc -l < back.csv)" -eq 25 ]
	paste -d, back.csv f.csv | awk -F, 'NR > 1 { for (j = 2; j <= 10; j++) { d = $j - $(j + 10);
		if (d < 0) d = -d; if (d > 1e-6 * ($j < 0 ? -$j : $j) + 1e-12) bad++ } } END { exit bad > 0 }'
	# S: the target column alone, to standard output
	ts-forecast fit "${FIT[@]}" --features S --target temp data.csv -o s.st
	ts-forecast predict --tensor s.st data.csv > s.dts
	run tensor-tool info s.dts
	assert_line --index 1 --regexp $'^0\tforecast\tF64\t24x1\tseries\t.*columns=temp '
	# --tensor belongs to predict
	run ts-forecast fit "${FIT[@]}" --tensor data.csv -o x.st
	assert_failure 2
	run ts-forecast eval "${FIT[@]}" --tensor data.csv
	assert_failure 2
	[ ! -e x.st ]
}

bad() {  # bad PATTERN CMD...: exit 1, exactly one line on stderr containing PATTERN
	run --separate-stderr "${@:2}"
	assert_failure 1
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || { echo "stderr: $stderr"; false; }
	[[ "$stderr" == ts-forecast:*"$1"* ]] || { echo "stderr: $stderr"; false; }
}

@test "bad input: one-line error, exit 1" {
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	# ragged row
	awk 'NR == 50 { print $0 ",9"; next } { print }' data.csv > ragged.csv
	bad "fields, expected 4" ts-forecast fit "${FIT[@]}" ragged.csv -o x.st
	# non-numeric cell
	awk -F, 'NR == 60 { $3 = "abc" } { print }' OFS=, data.csv > nonnum.csv
	bad "not a number" ts-forecast fit "${FIT[@]}" nonnum.csv -o x.st
	# unsorted
	awk 'NR == 70 { keep = $0; next } NR == 71 { print; print keep; next } { print }' data.csv > unsorted.csv
	bad "must be sorted" ts-forecast fit "${FIT[@]}" unsorted.csv -o x.st
	# duplicate timestamp
	awk 'NR == 80 { print } { print }' data.csv > dup.csv
	bad "duplicate timestamp" ts-forecast eval "${FIT[@]}" dup.csv
	# too few rows for the window
	head -30 data.csv > short.csv
	bad "too few rows" ts-forecast fit "${FIT[@]}" short.csv -o x.st
	bad "too few rows" ts-forecast predict m.st short.csv
	# a model file for other columns
	cut -d, -f1,2,4 data.csv > other.csv
	bad "was fitted on columns 'load,temp,OT'" ts-forecast predict m.st other.csv
	# not a model file
	bad "cannot load 'data.csv'" ts-forecast predict data.csv data.csv
	# a table without timestamps for a model fitted with them
	cut -d, -f2- data.csv > nodate.csv
	bad "'m.st' was fitted on a table with timestamps, 'nodate.csv' has none" ts-forecast predict m.st nodate.csv
	# epoch seconds under a time-like name are not a table without timestamps
	awk -F, 'BEGIN { OFS = "," } NR == 1 { $1 = "timestamp" } NR > 1 { $1 = 1577836800 + 3600 * (NR - 2) } { print }' data.csv > epoch.csv
	bad "column 'timestamp' holds numbers, not timestamps" ts-forecast fit "${FIT[@]}" epoch.csv -o x.st
	# a column name twice
	sed '1s/temp/load/' data.csv > twice.csv
	bad "column 'load' appears twice (columns 2 and 3)" ts-forecast fit "${FIT[@]}" twice.csv -o x.st
	# another separator than the comma
	tr , ';' < data.csv > semi.csv
	bad "holding ';': fields must be separated by commas" ts-forecast fit "${FIT[@]}" semi.csv -o x.st
	tr , '\t' < data.csv > tabs.csv
	bad "holding a tab" ts-forecast predict m.st tabs.csv
	# --split ett on hourly data that is too short
	bad "needs 14400 rows" ts-forecast eval "${FIT[@]}" --split ett data.csv
	# a value beyond single precision once scaled (fit: in the test rows; predict: with the model's scaler)
	awk -F, 'NR == 581 { $2 = "1e300" } { print }' OFS=, data.csv > huge.csv
	bad "row 580, column 'load': value 1e+300 is out of range" ts-forecast eval "${FIT[@]}" huge.csv
	bad "row 580, column 'load': value 1e+300 is out of range" ts-forecast predict m.st huge.csv
	awk -F, 'NR == 3 { $3 = "1e200" } NR == 4 { $3 = "-1e200" } { print }' OFS=, data.csv > squares.csv
	bad "column 'temp': values too large to scale" ts-forecast fit "${FIT[@]}" squares.csv -o x.st
	[ ! -e x.st ]
}

@test "usage errors exit 2" {
	run ts-forecast fit data.csv
	assert_failure 2
	run ts-forecast eval --model NoSuchModel data.csv
	assert_failure 2
	run ts-forecast eval --features X data.csv
	assert_failure 2
	run ts-forecast frobnicate
	assert_failure 2
	run ts-forecast eval --split 1,2 data.csv
	assert_failure 2
	run --separate-stderr ts-forecast eval --split 300,50,50 data.csv
	assert_failure 2
	[[ "$stderr" == "ts-forecast: invalid value for --split: '300,50,50' (ett, or TRAIN,VAL,TEST as fractions of the rows: TRAIN > 0, at most 1 in all)"* ]]
	run ts-forecast fit --split 0,0.5,0.5 data.csv -o x.st
	assert_failure 2
	# options the model file holds are refused by predict and info, not ignored
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	run --separate-stderr ts-forecast predict --seq-len 24 m.st data.csv
	assert_failure 2
	[[ "$stderr" == "ts-forecast: --seq-len is an option of fit and eval"* ]]
	run ts-forecast predict --d-model 64 m.st data.csv
	assert_failure 2
	run ts-forecast predict --no-header m.st data.csv
	assert_failure 2
	run ts-forecast info --horizon 3 m.st
	assert_failure 2
	run ts-forecast fit "${FIT[@]}" --no-header data.csv -o x.st
	assert_failure 2
	[ ! -e x.st ]
}

@test "a hyperparameter the model does not read is refused, not ignored" {
	# a typo, another model's setting, a shorthand the model has no use for
	run --separate-stderr ts-forecast fit --set d_modle=64 --model iTransformer data.csv -o x.st
	assert_failure 2
	[[ "$stderr" == "ts-forecast: hyperparameter 'd_modle': not one of iTransformer's (d_model, d_ff, n_heads, e_layers, dropout, activation)"* ]]
	run --separate-stderr ts-forecast eval --set patch_len=8 --model Informer data.csv
	assert_failure 2
	[[ "$stderr" == "ts-forecast: hyperparameter 'patch_len': not one of Informer's ("*"distil"* ]]
	run --separate-stderr ts-forecast fit --d-model 8 data.csv -o x.st
	assert_failure 2
	[[ "$stderr" == "ts-forecast: hyperparameter 'd_model': not one of DLinear's (moving_avg, individual)"* ]]
	run ts-forecast fit --model NLinear --moving-avg 5 data.csv -o x.st
	assert_failure 2
	# settings that have a flag, or come from the data
	run --separate-stderr ts-forecast fit --set learning_rate=0.01 data.csv -o x.st
	assert_failure 2
	[[ "$stderr" == "ts-forecast: --set learning_rate: use --lr"* ]]
	run --separate-stderr ts-forecast eval --set pred_len=24 data.csv
	assert_failure 2
	[[ "$stderr" == "ts-forecast: --set pred_len: use --horizon"* ]]
	run --separate-stderr ts-forecast fit --set c_out=1 data.csv -o x.st
	assert_failure 2
	[[ "$stderr" == "ts-forecast: --set c_out: set from the input's columns"* ]]
	[ ! -e x.st ]
	# what the model reads is taken, in either spelling
	ts-forecast fit "${FIT[@]}" --set moving_avg=13 data.csv -o a.st
	ts-forecast fit "${FIT[@]}" --moving-avg 13 data.csv -o b.st
	cmp a.st b.st
	ts-forecast info a.st | grep -q '"moving_avg":13'
	# a switch as the reference's command line gives it, or as 0/1
	ts-forecast fit --model Informer --set distil=false --d-model 8 --d-ff 8 --n-heads 1 --epochs 1 \
		--seq-len 48 --horizon 24 -t 1 data.csv -o i.st
	ts-forecast info i.st | grep -q '"distil":false'
	run --separate-stderr ts-forecast fit --model Informer --set distil=2 --d-model 8 --d-ff 8 --n-heads 1 \
		--seq-len 48 --horizon 24 data.csv -o j.st
	assert_failure 1
	[ "$stderr" = "ts-forecast: cannot create Informer: distil must be true or false" ]
	[ ! -e j.st ]
}

@test "predict --horizon N writes the first N steps of the model's horizon" {
	ts-forecast fit "${FIT[@]}" data.csv -o m.st
	ts-forecast predict --interval 0.9 m.st data.csv | head -n 6 > all.csv
	run ts-forecast predict --horizon 5 --interval 0.9 m.st data.csv
	assert_success
	[ "$output" = "$(cat all.csv)" ]
	bad "'m.st' forecasts 24 steps, not 25: fit a model with --horizon 25" ts-forecast predict --horizon 25 m.st data.csv -o x.csv
	[ ! -e x.csv ]
}

@test "the man page examples run" {
	MAN="$TOP/man/man1/ts-forecast.1"
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
	' "$MAN" | sed -e 's/\\-/-/g' > cmds.sh
	[ "$(wc -l < cmds.sh)" -ge 6 ]
	if [ -r "$TOP/../shared/data/ts/ETTh1.csv" ]; then
		ln -s "$TOP/../shared/data/ts/ETTh1.csv" ETTh1.csv
	else
		grep -v ETTh1 cmds.sh > c2.sh && mv c2.sh cmds.sh
	fi
	while IFS= read -r cmd; do
		run bash -o pipefail -c "$cmd"
		[ "$status" -eq 0 ] || { echo "failed: $cmd"; echo "$output"; false; }
	done < cmds.sh
	[ -s forecast.csv ] && [ -s forecast.png ] && [ -s load.model ]
	# the Makefile example
	sed -n '/begin: Makefile/,/end: Makefile/p' "$MAN" | grep -v '^\.' > Makefile
	run make -s -j2
	assert_success
	[ "$(wc -l < results.tsv)" -eq 2 ]
}

@test "--checkpoint: an interrupted fit resumes to the same model file; a finished one is reused; another run's is refused" {
	# 2000 rows at 15-minute steps (all in January)
	awk 'BEGIN { print "date,load,OT"; srand(3);
		for (i = 0; i < 2000; i++) { m = i * 15; d = 1 + int(m / 1440); h = int(m % 1440 / 60);
			printf "2020-01-%02d %02d:%02d:00,%.4f,%.4f\n", d, h, m % 60,
				10 + 3 * sin(2 * 3.14159265 * i / 96) + rand() * 0.3,
				5 + 2 * sin(2 * 3.14159265 * i / 96 + 1) + rand() * 0.2 } }' > big.csv
	args=(--model iTransformer --d-model 32 --d-ff 32 --seq-len 48 --horizon 24 --epochs 20 --patience 20 -t 1)
	ts-forecast fit "${args[@]}" --log ref.tsv big.csv -o ref.st
	ts-forecast fit "${args[@]}" --checkpoint ck --log part.tsv big.csv -o m.st 2> err &
	pid=$!
	# the checkpoint, then the log, appear (atomically) after epoch 1; interrupt in epoch 2
	for _ in $(seq 1200); do [ -e part.tsv ] && break; sleep 0.05; done
	[ -e ck ]
	[ -e part.tsv ]
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ]
	[[ "$(cat err)" =~ ^"ts-forecast: interrupted (Interrupt) in epoch "[0-9]+"; run the same command again to resume from 'ck'"$ ]]
	[ ! -e m.st ]
	[ ! -e ck.part ]
	[ -z "$(ls -A | grep '^\.')" ]
	# the log holds the epochs finished before the interruption, as the whole run's
	n=$(($(wc -l < part.tsv) - 1))
	[ "$n" -ge 1 ]
	[ "$n" -lt 20 ]
	cmp <(cut -f1-4 part.tsv) <(head -n $((n + 1)) ref.tsv | cut -f1-4)
	# the thread count is not part of the run: a copy resumes on 2 threads
	# (as a run begun on a big machine is finished on a small one)
	cp ck ck2
	run --separate-stderr ts-forecast fit "${args[@]}" -t 2 --checkpoint ck2 --log m2t.tsv big.csv -o m2t.st
	assert_success
	[[ "$stderr" =~ ^"ts-forecast: resumed from 'ck2' (epoch "[0-9]+", step "[0-9]+")"$ ]]
	ts-forecast info m2t.st > /dev/null
	[ "$(wc -l < m2t.tsv)" -eq "$(wc -l < ref.tsv)" ]
	cmp <(head -n $((n + 1)) m2t.tsv | cut -f1-4) <(cut -f1-4 part.tsv)
	run --separate-stderr ts-forecast fit "${args[@]}" --checkpoint ck --log m.tsv big.csv -o m.st
	assert_success
	[[ "$stderr" =~ ^"ts-forecast: resumed from 'ck' (epoch "[0-9]+", step "[0-9]+")"$ ]]
	cmp ref.st m.st
	# the resumed run's --log has every epoch, before the interruption too
	cmp ref.tsv m.tsv
	# finished: nothing left to train, the same model again
	ts-forecast fit -q "${args[@]}" --checkpoint ck big.csv -o m2.st
	cmp ref.st m2.st
	# eval with the same settings scores the same model (its own checkpoint file)
	run --separate-stderr ts-forecast eval -q --no-header "${args[@]}" --checkpoint ck big.csv
	assert_failure 1
	[ "$stderr" = "ts-forecast: training failed: checkpoint 'ck' is from another run (model, options or data differ)" ]
	# another learning rate, other data: other runs
	run --separate-stderr ts-forecast fit "${args[@]}" --lr 1e-3 --checkpoint ck big.csv -o m3.st
	assert_failure 1
	[ "$stderr" = "ts-forecast: training failed: checkpoint 'ck' is from another run (model, options or data differ)" ]
	[ ! -e m3.st ]
	sed '2000s/,[0-9.]*$/,9.9999/' big.csv > other.csv
	run --separate-stderr ts-forecast fit "${args[@]}" --checkpoint ck other.csv -o m3.st
	assert_failure 1
	[ ! -e m3.st ]
	# not a checkpoint; a folder that does not exist; the same file as -o
	echo nonsense > bad.ck
	run --separate-stderr ts-forecast fit "${args[@]}" --checkpoint bad.ck big.csv -o m3.st
	assert_failure 1
	[[ "$stderr" == "ts-forecast: training failed: checkpoint 'bad.ck': "* ]]
	run --separate-stderr ts-forecast fit "${args[@]}" --epochs 1 --checkpoint nodir/ck big.csv -o m3.st
	assert_failure 1
	[[ "$stderr" == "ts-forecast: training failed: cannot write checkpoint 'nodir/ck.part': "* ]]
	[ ! -e m3.st ]
	run --separate-stderr ts-forecast fit "${args[@]}" --checkpoint m3.st big.csv -o m3.st
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --checkpoint and -o name the same file" ]
	run --separate-stderr ts-forecast fit "${args[@]}" --checkpoint "" big.csv -o m3.st
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --checkpoint needs a file name" ]
	run --separate-stderr ts-forecast predict --checkpoint ck ref.st big.csv
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --checkpoint is an option of fit and eval" ]
	run --separate-stderr ts-forecast info --checkpoint ck ref.st
	assert_failure 2
	[ "${stderr_lines[0]}" = "ts-forecast: --checkpoint is an option of fit and eval" ]
}

@test "the ACCURACY tables are those ts_accuracy.sh makes from the runs in ts_runs.tsv" {
	run -0 sh "$TOP/tests/bench/ts_accuracy.sh" --check "$TOP/man/man1/ts-forecast.1"
	# a changed run, or one more, and the page no longer agrees
	sed 's/^DLinear\tETTh1\t96\t2021\t2\there\t0\.386885/DLinear\tETTh1\t96\t2021\t2\there\t0.396885/' \
		"$TOP/tests/bench/ts_runs.tsv" > runs.tsv
	! cmp -s runs.tsv "$TOP/tests/bench/ts_runs.tsv"
	TS_RUNS=runs.tsv run -1 sh "$TOP/tests/bench/ts_accuracy.sh" --check "$TOP/man/man1/ts-forecast.1"
	assert_output --partial 'DLinear	ETTh1	96	0.397	0.402	0.386	0.400	1.028'
	assert_output --partial 'DLinear 18 of 20 (mean ratio 0.953)'
	# a second seed-2021 run of one cell is an error, not a silent pick
	printf 'DLinear\tETTh1\t96\t2021\t1\there\t0.4\t0.4\t-\n' | cat "$TOP/tests/bench/ts_runs.tsv" - > runs.tsv
	TS_RUNS=runs.tsv run -1 sh "$TOP/tests/bench/ts_accuracy.sh" --check "$TOP/man/man1/ts-forecast.1"
	assert_output --partial 'two seed-2021 runs of DLinear ETTh1 96'
	# a cell not run yet, scored 2% under its published MSE (skipped once all 60 are run)
	cell=$(awk -F'\t' 'NR == FNR { if ($4 == 2021) run[$1 FS $2 FS $3] = 1; next }
		$1 ~ /^(PatchTST|Informer|Autoformer)$/ && $2 ~ /^ETT/ && !(($1 FS $2 FS $3) in run) {
			printf "%s\t%s\t%s\t%.6f\t%.6f\t%.3f\t%.3f\n", $1, $2, $3, $4 * 0.98, $5, $4, $5; exit }' \
		"$TOP/tests/bench/ts_runs.tsv" "$TOP/tests/bench/ts_published.tsv")
	[ -n "$cell" ] || skip "every cell has its seed-2021 run"
	IFS=$'\t' read -r m d h mse mae pmse pmae <<< "$cell"
	printf '%s\t%s\t%s\t2021\t2\there\t%s\t%s\t-\n' "$m" "$d" "$h" "$mse" "$mae" |
		cat "$TOP/tests/bench/ts_runs.tsv" - > runs.tsv
	TS_RUNS=runs.tsv run -1 sh "$TOP/tests/bench/ts_accuracy.sh" --check "$TOP/man/man1/ts-forecast.1"
	assert_output --partial "$(printf '%s\t%s\t%s\t%.3f\t%.3f\t%s\t%s\t0.980\t-' "$m" "$d" "$h" "$mse" "$mae" "$pmse" "$pmae")"
	# one cell more, one more within +2%, than the page says now
	n=$(sed -n 's/^Of these \([0-9]*\) cells (of 60), \([0-9]*\) are within.*/\1 \2/p' "$TOP/man/man1/ts-forecast.1")
	[ -n "$n" ]
	set -- $n
	assert_output --partial "Of these $(($1 + 1)) cells (of 60), $(($2 + 1)) are within +2%"
}

@test "the README's accuracy counts are those of the ACCURACY section" {
	man=$TOP/man/man1/ts-forecast.1
	# the README's tool list, its line breaks and indents folded to single spaces
	readme=$(tr -s ' \n' '  ' < "$TOP/README")
	set -- $(sed -n 's/^Within +2% of the published MSE or better: iTransformer \([0-9]*\) of 20 cells$/\1/p;
		s/^(mean ratio [0-9.]*), DLinear \([0-9]*\) of 20 .*/\1/p' "$man")
	[ $# -eq 2 ]
	[[ $readme == *"iTransformer $1 and DLinear $2 of 20 ETT/Exchange cells within +2%"* ]]
	set -- $(sed -n 's/^Of these \([0-9]*\) cells (of 60), \([0-9]*\) are within.*/\1 \2/p' "$man")
	[ $# -eq 2 ]
	[[ $readme == *"Autoformer: $1 of their 60 cells run so far, $2 of them within +2%"* ]]
	set -- $(sed -n "s/^In \([0-9]*\) of these \([0-9]*\) cells none of the reference's runs reaches the published$/\1 \2/p" "$man")
	[ $# -eq 2 ]
	[[ $readme == *"in $1 of the $2 cells where ours is above and the reference was run"* ]]
}

@test "ts_table.sh: JOBS runs at once give the lines of one at a time, in order; a failed run fails it" {
	mkdir ts
	# 1600 hours from 2020-01-01 (January 31 days, February 29)
	awk 'BEGIN { print "date,a,b,OT"; srand(5);
		for (i = 0; i < 1600; i++) { d = int(i / 24); m = d < 31 ? 1 : d < 60 ? 2 : 3;
			dd = 1 + d - (m == 1 ? 0 : m == 2 ? 31 : 60);
			printf "2020-%02d-%02d %02d:00:00,%.4f,%.4f,%.4f\n", m, dd, i % 24,
				sin(i / 9) + rand() * 0.1, cos(i / 13), sin(i / 5) * 0.5 } }' > ts/exchange_rate.csv
	export TS_DATA=$PWD/ts MODELS="DLinear NLinear" DATASETS=exchange_rate HORIZONS="96 192" THREADS=1
	B=$(realpath --relative-to="$TOP" "$(dirname "$(dirname "$(command -v ts-forecast)")")")
	export B
	JOBS=1 run -0 sh "$TOP/tests/bench/ts_table.sh"
	cut -f1-8,10 <<< "$output" > one.tsv
	[ "$(wc -l < one.tsv)" -eq 5 ]
	[ "$(cut -f1,3 one.tsv | tail -4 | tr '\t\n' ' ')" = "DLinear 96 DLinear 192 NLinear 96 NLinear 192 " ]
	JOBS=3 run -0 sh "$TOP/tests/bench/ts_table.sh"
	cut -f1-8,10 <<< "$output" > three.tsv
	cmp one.tsv three.tsv
	MODELS="DLinear Nope" JOBS=2 run -1 sh "$TOP/tests/bench/ts_table.sh"
	assert_output --partial "ts_table: a run failed"
}
