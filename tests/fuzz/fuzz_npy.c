/*
 * fuzz_npy.c - libFuzzer harness for the .npy reader: reads every array
 * of the (possibly concatenated) input through fmemopen.  Seeds: corpus/npy/.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>

#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	struct dc_tensor t;
	while (dc_npy_read(fp, &t) == DC_OK) {
		volatile unsigned char x = t.nbytes ? ((unsigned char *)t.data)[t.nbytes - 1] : 0;
		(void)x;
		dc_tensor_release(&t);
	}
	fclose(fp);
	return 0;
}
