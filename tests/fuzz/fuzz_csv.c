/*
 * fuzz_csv.c - libFuzzer harness for dc_csv_read and the timestamp parser:
 * arbitrary bytes through fmemopen.  A table that reads must write with
 * dc_csv_write and read back with the same shape, values (bit-exact, NaN
 * as NaN) and strings; every index cell that parses as a timestamp must
 * format and parse back to the same second.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/media.h"

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	struct dc_csv c;
	enum dc_status st = dc_csv_read(f, &c);
	fclose(f);
	if (st != DC_OK) {
		if (c.values || c.colnames || !dc_errmsg()[0])
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; c.index && i < c.rows; i++) {
		int64_t t, t2;
		char buf[20];
		if (dc_parse_timestamp(c.index[i], &t) == 0) {
			dc_format_timestamp(t, buf);
			if (dc_parse_timestamp(buf, &t2) != 0 || t2 != t)
				__builtin_trap();
		}
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (dc_csv_write(m, &c, NULL) != DC_OK)
		__builtin_trap();
	fclose(m);
	struct dc_csv b;
	f = fmemopen(buf, len ? len : 1, "rb");
	st = dc_csv_read(f, &b);
	fclose(f);
	free(buf);
	if (st != DC_OK || b.rows != c.rows || b.cols != c.cols || !b.index != !c.index)
		__builtin_trap();
	for (size_t i = 0; i < c.rows * c.cols; i++) {
		double x = c.values[i], y = b.values[i];
		if (isnan(x) ? !isnan(y) : memcmp(&x, &y, sizeof x) != 0)
			__builtin_trap();
	}
	for (size_t j = 0; j < c.cols; j++)
		if (!same_str(c.colnames[j], b.colnames[j]))
			__builtin_trap();
	if (!same_str(c.index_name, b.index_name))
		__builtin_trap();
	for (size_t i = 0; c.index && i < c.rows; i++)
		if (!same_str(c.index[i], b.index[i]))
			__builtin_trap();
	dc_csv_release(&b);
	dc_csv_release(&c);
	return 0;
}
