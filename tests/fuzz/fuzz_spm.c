/*
 * fuzz_spm.c - libFuzzer harness for the SentencePiece tokenizer: each
 * input is opened as a tokenizer image (spiece.model protobuf, or
 * tokenizer.json text when it starts with '{') and, if accepted, encodes a
 * few fixed texts and the input itself; the input is also encoded as text
 * by a fixed tokenizer built here (a charsmap, byte fallback, added tokens
 * of every flavour).  Encoding must succeed on valid UTF-8 (DC_EINVAL
 * otherwise), return 1..max_ids ids in range, the last one </s>.
 * Seeds (tests/fuzz/corpus/spm/): two 40-piece unigram models trained by
 * sentencepiece 0.1.97 in T5's id layout with user-defined pieces, one
 * with the identity normaliser and one with a small rule TSV (A->a, B->b,
 * C->c, U+3000 and U+FF21 and U+FB01 folded), their tokenizer.json forms,
 * and a text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/spm.h"

/* The charsmap of the rule-TSV seed model. */
#define CHARSMAP \
	"\"" \
	"AAQAAAAAAQBBFQAAQh0AAEMVAAACAACABAAAgAYAAICAPAIAgAUAAAAAAICsAAIAgR0AAAgA" \
	"AIChJQAADwAAAA4AAAARAAAAEAAAABMAAAASAAAAFQAAABQAAAAXAAAAFgAAABkAAAAYAAAA" \
	"vNgCABoAAAAdAAAAHAAAAB8AAAAeAAAAIQAAACAAAAAjAAAAIgAAACUAAAAkAAAAJwAAACYA" \
	"AAApAAAAKAAAACsAAAAqAAAALQAAACwAAAAvAAAALgAAADEAAAAwAAAAMwAAADIAAAA1AAAA" \
	"NAAAADcAAAA2AAAAOQAAADgAAAA7AAAAOgAAAD0AAAA8AAAAPwAAAD4AAABBAAAAQAAAAEMA" \
	"AABCAAAARQAAAEQAAABHAAAARgAAAEkAAABIAAAASwAAAEoAAABNAAAATAAAAE8AAABOAAAA" \
	"UQAAAFAAAABTAAAAUgAAAFUAAABUAAAAVwAAAFYAAABZAAAAWAAAAFsAAABaAAAAXQAAAFwA" \
	"AABfAAAAXgAAAGEAAABgAAAAYwAAAGIAAABlAAAAZAAAAGcAAABmAAAAaQAAAGgAAABrAAAA" \
	"agAAAG0AAABsAAAAbwAAAG4AAABxAAAAcAAAAHMAAAByAAAAdQAAAHQAAAB3AAAAdgAAAHkA" \
	"AAB4AAAAewAAAHoAAAB9AAAAfAAAAH8AAAB+AAAAgQAAAIAAAACDAAAAggAAAIUAAACEAAAA" \
	"hwAAAIYAAACJAAAAiAAAAIsAAACKAAAAjQAAAIwAAACPAAAAjgAAAJEAAACQAAAAkwAAAJIA" \
	"AACVAAAAlAAAAJcAAACWAAAAmQAAAJgAAACbAAAAmgAAAJ0AAACcAAAAnwAAAJ4AAAChAAAA" \
	"oAAAAKMAAADjkAAApQAAAKQAAACnAAAApgAAAKkAAACoAAAAqwAAAKoAAACtAAAArAAAAK8A" \
	"AADvJAAAsQAAALAAAACzAAAAsgAAALUAAAC0AAAAtwAAALYAAAC5AAAAuAAAALsAAAC6AAAA" \
	"vQAAALwAAAC/AAAAvgAAAMEAAADAAAAAwwAAAMIAAADFAAAAxAAAAMcAAADGAAAAyQAAAMgA" \
	"AADLAAAAygAAAM0AAADMAAAAzwAAAM4AAADRAAAA0AAAANMAAADSAAAA1QAAANQAAADXAAAA" \
	"1gAAANkAAADYAAAA2wAAANoAAADdAAAA3AAAAN8AAADeAAAA4QAAAOAAAADjAAAA4gAAAOUA" \
	"AADkAAAA5wAAAOYAAADpAAAA6AAAAOsAAADqAAAA7QAAAOwAAADvAAAA7gAAAPEAAADwAAAA" \
	"8wAAAPIAAAD1AAAA9AAAAPcAAAD2AAAA+QAAAPgAAAD7AAAA+gAAAP0AAAD8AAAA/wAAAP4A" \
	"AAAgAGEAYgBjAGZpAA==" \
	"\""

static const char fixed_json[] =
	"{\"added_tokens\": ["
	"{\"id\": 0, \"content\": \"<pad>\", \"special\": true, \"normalized\": false},"
	"{\"id\": 1, \"content\": \"</s>\", \"special\": true, \"normalized\": false},"
	"{\"id\": 2, \"content\": \"<unk>\", \"special\": true, \"normalized\": false},"
	"{\"id\": 20, \"content\": \"[M]\", \"single_word\": true, \"special\": true, "
	"\"normalized\": false},"
	"{\"id\": 21, \"content\": \"<x>\", \"lstrip\": true, \"rstrip\": true, \"normalized\": false},"
	"{\"id\": 22, \"content\": \"abc\", \"normalized\": true}],"
	"\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Precompiled\", "
	"\"precompiled_charsmap\": " CHARSMAP "}]},"
	"\"model\": {\"type\": \"Unigram\", \"unk_id\": 2, \"byte_fallback\": true, \"vocab\": ["
	"[\"<pad>\", 0], [\"</s>\", 0], [\"<unk>\", 0], [\"\xe2\x96\x81\", -1], [\"a\", -2], "
	"[\"b\", -2], [\"ab\", -1], [\"\xe2\x96\x81" "a\", -1.5], [\"<0x78>\", -5], [\"c\", -3], "
	"[\"fi\", -2.5], [\"<0xE6>\", -6], [\"<0x9D>\", -6], [\"<0xB1>\", -6], [\"cat\", -4]]}}";

static struct dc_spm *fixed;

static void check(const struct dc_spm *t, const char *s, size_t n, int max)
{
	int32_t ids[300];
	int k = -1, tr = -1;
	enum dc_status st = dc_spm_encode(t, s, n, ids, max, &k, &tr);
	if (st == DC_EINVAL && k == 0)
		return;         /* invalid UTF-8 */
	if (st != DC_OK || k < 1 || k > max || ids[k - 1] != dc_spm_eos_id(t) || (tr != 0 && tr != 1))
		abort();
	for (int i = 0; i < k; i++)
		if (ids[i] < 0 || ids[i] >= dc_spm_size(t) || !dc_spm_piece(t, ids[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *texts[] = {
		"a red apple", "", "  </s><pad> x<extra_id_0>y \xef\xbc\xa1\xef\xac\x81 \xe3\x80\x80 ",
		"\xe6\x9d\xb1\xe4\xba\xac cat<sep>cats \xe2\x96\x81\xe2\x96\x81", "ABC [M] a[M] <x> abc",
	};
	if (!fixed && dc_spm_open_memory(&fixed, fixed_json, sizeof fixed_json - 1))
		abort();
	check(fixed, (const char *)data, size, 300);
	check(fixed, (const char *)data, size, 3);
	struct dc_spm *t = (void *)1;
	if (dc_spm_open_memory(&t, data, size) != DC_OK) {
		if (t)
			abort();
		return 0;
	}
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
		check(t, texts[i], strlen(texts[i]), 300);
	if (size < 4096)
		check(t, (const char *)data, size, 300);
	dc_spm_free(t);
	return 0;
}
