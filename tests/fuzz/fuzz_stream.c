/*
 * fuzz_stream.c - libFuzzer harness for the tensor stream reader: the input
 * bytes are read as a stream through fmemopen, in full mode and in skip
 * mode, record by record until END or an error.  Seeds: corpus/stream/.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "io/stream.h"

static void read_all(const uint8_t *data, size_t size, int skip)
{
	FILE *fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return;
	struct dc_stream_reader r;
	struct dc_record rec;
	dc_record_init(&rec);
	if (dc_stream_reader_open(&r, fp) == DC_OK) {
		r.skip_payload = skip;
		r.max_payload = (size_t)1 << 24;
		while (dc_stream_read(&r, &rec) == DC_OK) {
			/* touch what the reader promises */
			volatile size_t sum = 0;
			if (rec.data && rec.nbytes)
				sum += ((const unsigned char *)rec.data)[rec.nbytes - 1];
			for (size_t i = 0; i < rec.nmeta; i++)
				sum += strlen(rec.meta_keys[i]) + strlen(rec.meta_vals[i]);
			sum += strlen(rec.name) + (rec.role ? strlen(rec.role) : 0);
			(void)sum;
			dc_record_release(&rec);
		}
	}
	dc_record_release(&rec);
	dc_stream_reader_close(&r);
	fclose(fp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen rejects size 0 */
	read_all(data, size, 0);
	read_all(data, size, 1);
	return 0;
}
