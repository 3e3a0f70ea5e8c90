/*
 * spm.h - the SentencePiece unigram tokenizer as T5 uses it (T5 v1.1,
 * PixArt's text encoder), reading the files its authors publish:
 *
 *   spiece.model    a SentencePiece ModelProto (protobuf): pieces with
 *                   scores and types, the trainer and normalizer specs
 *                   (precompiled nmt_nfkc character map, add_dummy_prefix,
 *                   remove_extra_whitespaces, escape_whitespaces)
 *   tokenizer.json  the Hugging Face "Unigram" form of the same model
 *   tokenizer_config.json / special_tokens_map.json (optional)
 *                   extra_ids (100 <extra_id_N> sentinels above the pieces,
 *                   numbered downwards from the top), model_max_length,
 *                   eos/pad/unk token names, additional special tokens
 *
 * Encoding follows transformers' T5Tokenizer (5.x): special tokens written
 * in the text are recognised as such, the rest is normalised with the
 * model's precompiled character map, split at white space, "▁" put before
 * each word, and segmented by Viterbi over the piece lattice (unknown
 * characters become <unk>, a run of them one <unk>); </s> is appended after
 * truncation.  Ids are identical to T5Tokenizer's on the prompts in
 * tests/golden/t5/prompts.txt, but for one deliberate difference: unknown
 * characters get the model's <unk> id where transformers 5 always emits 2
 * (which is </s> in models laid out like ruT5).  lib/text/spm.c says more.
 *
 * A tokenizer is immutable once open: every function taking a const
 * pointer may be called from any number of threads at once.  Errors are
 * reported through dc_fail().
 */
#ifndef DC_SPM_H
#define DC_SPM_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dc_spm;

/*
 * Open `path`: a spiece.model file, a tokenizer.json file, or a folder
 * holding either (spiece.model preferred) plus the optional JSON files
 * above (read only in the folder case).  The file is untrusted input: a
 * malformed protobuf/JSON fails with DC_EFORMAT naming the file, a missing
 * one DC_ENOTFOUND (DC_EIO for other I/O errors), a model type other than
 * unigram DC_EUNSUPPORTED.  The eos/unk/pad ids are those of the token
 * names (tokenizer_config.json's, else "</s>", "<unk>", "<pad>"), else the
 * model's own (spiece.model: trainer_spec eos_id and pad_id, the piece of
 * type UNKNOWN; tokenizer.json: model.unk_id); no eos or unk is DC_EFORMAT.
 * On failure *out is NULL.  The caller frees *out with dc_spm_free().
 */
enum dc_status dc_spm_open(struct dc_spm **out, const char *path);

/*
 * The same over an image in memory (copied): a spiece.model, or a
 * tokenizer.json text when its first non-blank byte is '{'.  extra_ids 100,
 * no config files.
 */
enum dc_status dc_spm_open_memory(struct dc_spm **out, const void *buf, size_t len);

void dc_spm_free(struct dc_spm *t);           /* NULL is a no-op */

int dc_spm_size(const struct dc_spm *t);       /* ids, pieces + extra ids (32100 for T5) */
int dc_spm_pad_id(const struct dc_spm *t);     /* 0 for T5; -1 when the model has none */
int dc_spm_eos_id(const struct dc_spm *t);     /* 1 for T5 */
int dc_spm_unk_id(const struct dc_spm *t);     /* 2 for T5 */
int dc_spm_max_length(const struct dc_spm *t); /* model_max_length, 0 when not given */

/* The piece (UTF-8, "▁" for spaces) or special token of `id`; NULL out of range. */
const char *dc_spm_piece(const struct dc_spm *t, int id);

/*
 * Encode `len` bytes of UTF-8 `text` as T5Tokenizer(text, max_length=max_ids,
 * truncation=True).input_ids does: at most max_ids ids (max_ids >= 1), the
 * last one </s>.  *n receives the count; *truncated (may be NULL) is set to
 * 1 when tokens were dropped to fit, else 0.  Invalid UTF-8 (NUL bytes are
 * valid), text over 256 MiB, max_ids < 1 or a NULL ids/n: DC_EINVAL, *n 0.
 * Never allocates more than O(len) scratch (freed before returning).
 */
enum dc_status dc_spm_encode(const struct dc_spm *t, const char *text, size_t len,
                             int32_t *ids, int max_ids, int *n, int *truncated);

#ifdef __cplusplus
}
#endif
#endif /* DC_SPM_H */
