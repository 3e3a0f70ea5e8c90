/*
 * fuzz_safetensors.c - libFuzzer harness for the safetensors reader
 * (dc_safetensors_open_memory): every accepted file is read through every
 * accessor, then written back with dc_safetensors_write and re-read; the
 * copy must hold the same tensors byte for byte.  Corpus:
 * tests/fuzz/corpus/safetensors/.
 */
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

static void roundtrip(const struct dc_safetensors *st)
{
	size_t n = dc_safetensors_count(st), nm = dc_safetensors_meta_count(st);
	struct dc_st_write_entry *e = calloc(n ? n : 1, sizeof *e);
	struct dc_st_kv *kv = calloc(nm ? nm : 1, sizeof *kv);
	if (!e || !kv)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct dc_st_tensor *t = dc_safetensors_at(st, i);
		e[i] = (struct dc_st_write_entry){ t->name, t->dtype, t->rank, t->shape, t->data };
	}
	for (size_t i = 0; i < nm; i++)
		dc_safetensors_meta_at(st, i, &kv[i].key, &kv[i].value);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	enum dc_status s = dc_safetensors_write(f, e, n, kv, nm);
	fclose(f);
	if (s == DC_OK) {
		struct dc_safetensors *back;
		if (dc_safetensors_open_memory(&back, buf, len) != DC_OK)
			abort();   /* the writer produced a file the reader rejects */
		if (dc_safetensors_count(back) != n || dc_safetensors_meta_count(back) != nm)
			abort();
		for (size_t i = 0; i < n; i++) {
			const struct dc_st_tensor *a = dc_safetensors_at(st, i);
			const struct dc_st_tensor *b = dc_safetensors_find(back, a->name);
			if (!b || b->dtype != a->dtype || b->rank != a->rank || b->nbytes != a->nbytes ||
			    memcmp(b->shape, a->shape, sizeof a->shape[0] * (size_t)a->rank) ||
			    (a->nbytes && memcmp(a->data, b->data, a->nbytes)))
				abort();
		}
		dc_safetensors_close(back);
	} else if (s != DC_EINVAL) {
		abort();   /* only names the writer refuses ("" from \u0000) may fail */
	}
	free(buf);
	free(e);
	free(kv);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct dc_safetensors *st;
	if (dc_safetensors_open_memory(&st, data, size) != DC_OK)
		return 0;
	float buf[256];
	for (size_t i = 0; i < dc_safetensors_count(st); i++) {
		const struct dc_st_tensor *t = dc_safetensors_at(st, i);
		if (dc_safetensors_find(st, t->name) != t)
			abort();
		if ((const unsigned char *)t->data < data ||
		    (const unsigned char *)t->data + t->nbytes > data + size)
			abort();
		struct dc_tensor v;
		dc_safetensors_get(st, t->name, &v);
		for (size_t k = 0; k < t->numel; k += 256) {
			size_t m = t->numel - k < 256 ? t->numel - k : 256;
			if (dc_safetensors_read_f32(st, t->name, k, buf, m) != DC_OK)
				abort();
		}
		if (t->numel <= 256 && dc_safetensors_get_f32(st, t->name, buf, t->numel) != DC_OK)
			abort();
	}
	const char *k, *v;
	for (size_t i = 0; dc_safetensors_meta_at(st, i, &k, &v) == 0; i++)
		if (dc_safetensors_meta(st, k) == NULL)
			abort();
	roundtrip(st);
	dc_safetensors_close(st);
	return 0;
}
