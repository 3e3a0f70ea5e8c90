/*
 * fuzz_config.c - libFuzzer harness for the JSON paths of model loading:
 * config.json (dc_config_parse and every typed getter over a set of
 * dotted paths) and *.safetensors.index.json (dc_st_index_parse: shard
 * names must come out as plain file names).  Each input goes through both.
 * Corpus: tests/fuzz/corpus/config/.
 */
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

static const char *const paths[] = {
	"a", "a.b", "a.0", "a.b.c", "0", "weight_map", "metadata.total_size", "num_layers",
	"text_config.d_model", "block_out_channels", "block_out_channels.1", "x.99999999999",
	"", ".", "a..b", "config",
};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct dc_config *c;
	if (dc_config_parse(&c, (const char *)data, size) == DC_OK) {
		for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
			int64_t iv, ia[8];
			double dv, da[8];
			int bv;
			size_t n;
			const char *sv;
			dc_config_has(c, paths[i]);
			dc_config_int(c, paths[i], &iv);
			dc_config_double(c, paths[i], &dv);
			dc_config_bool(c, paths[i], &bv);
			if (dc_config_string(c, paths[i], &sv) == DC_OK && !sv)
				abort();
			if (dc_config_int_array(c, paths[i], ia, 8, &n) == DC_OK && n > 8)
				abort();
			dc_config_double_array(c, paths[i], da, 8, &n);
		}
		dc_config_free(c);
	}
	struct dc_st_index *ix;
	if (dc_st_index_parse(&ix, (const char *)data, size) == DC_OK) {
		size_t ns = dc_st_index_shard_count(ix);
		for (size_t i = 0; i < ns; i++) {
			const char *s = dc_st_index_shard(ix, i);
			if (!s || !*s || strchr(s, '/') || strcmp(s, "..") == 0 || strcmp(s, ".") == 0)
				abort();
			for (size_t j = 0; j < i; j++)
				if (strcmp(dc_st_index_shard(ix, j), s) == 0)
					abort();
		}
		dc_st_index_lookup(ix, "a");
		dc_st_index_lookup(ix, "");
		dc_st_index_free(ix);
	}
	return 0;
}
