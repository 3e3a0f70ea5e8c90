/*
 * spm.c - the SentencePiece unigram tokenizer, encoding as transformers'
 * T5Tokenizer (5.x, backed by Hugging Face tokenizers) does:
 *
 *   1. special tokens (</s>, <pad>, <unk>, <extra_id_N>, added tokens) are
 *      found in the raw text, leftmost-longest, and emitted as themselves;
 *   2. every other segment is normalised with the model's precompiled
 *      character map (see below), then split at Unicode White_Space;
 *   3. each word gets "▁" (U+2581) in front unless it starts with one, and
 *      is cut before every further "▁" (Metaspace, prepend "always");
 *   4. each piece is segmented by Viterbi over the lattice of vocabulary
 *      entries matching at each character (scores summed in double; on a
 *      tie the path through the earlier start wins); a character that no
 *      entry of its own length covers gets an <unk> node of score
 *      min_score - 10, and runs of <unk> nodes are fused into one token;
 *   5. the ids are cut to max_ids - 1 and </s> is appended.
 *
 * The pipeline is the one T5Tokenizer builds whatever the files say: the
 * pre-tokenizer and the non-Precompiled normalizers of a tokenizer.json
 * (Replace " {2,}", Strip, Metaspace options) change nothing after the
 * whitespace split and are not read, nor are the normalizer_spec flags of
 * spiece.model (add_dummy_prefix, remove_extra_whitespaces,
 * escape_whitespaces: steps 2-3 are what T5's models ask for).  Where
 * sentencepiece itself differs (White_Space the charsmap keeps, such as
 * U+0085; short clusters, see below; ties), this follows T5Tokenizer.  One
 * difference from T5Tokenizer is deliberate: unknown characters get the
 * model's <unk> id, where transformers 5 hard-codes id 2 (</s> in ruT5,
 * whose <unk> is 1).
 *
 * spiece.model is a protobuf ModelProto (wire format: varint tags,
 * field << 3 | wire type; 0 varint, 1 fixed64, 2 length-delimited,
 * 5 fixed32):
 *   1 pieces (repeated): 1 piece (string), 2 score (float), 3 type (enum:
 *     1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte)
 *   2 trainer_spec: 3 model_type (1 unigram), 35 byte_fallback,
 *     42 eos_id (default 2), 43 pad_id
 *   3 normalizer_spec: 2 precompiled_charsmap (bytes)
 * Every piece is a vocabulary entry, control pieces included (as in the
 * tokenizers conversion), and T5's <extra_id_N> (N = 0..extra_ids-1, ids
 * counting down from the top) are appended with score 0.  User-defined
 * pieces become added tokens, matched in the raw text before anything else
 * (the tokenizers conversion does so; sentencepiece itself matches them
 * inside words, after "▁").  Token names map to ids through the added
 * tokens first, then the pieces (the last of duplicates).
 *
 * The precompiled charsmap: u32 LE trie_size, a Darts-clone double array of
 * trie_size / 4 u32 LE units mapping UTF-8 byte strings to offsets into the
 * pool that follows (NUL-terminated UTF-8 replacements).  As in tokenizers'
 * Precompiled normaliser, the text is walked by extended grapheme cluster
 * (UAX #29, Unicode 15.0): a cluster shorter than 6 bytes whose bytes start
 * with a key is replaced whole by the value of the shortest such key; any
 * other cluster is mapped character by character (exact key or unchanged).
 *
 * tokenizer.json: model {"type": "Unigram", "vocab": [[piece, score], ...],
 * "unk_id", "byte_fallback"}, the Precompiled charsmap (base64, possibly in
 * a Sequence) and added_tokens [{id, content, lstrip, rstrip, normalized,
 * single_word}].  tokenizer_config.json / special_tokens_map.json give
 * eos/unk/pad token names, extra_ids, additional special tokens,
 * added_tokens_decoder and model_max_length.
 *
 * Every file is untrusted: all reads are bounds-checked, sizes capped, and
 * failures reported as DC_EFORMAT naming the file.
 */
#include "spm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SPM_MAX_FILE (512u << 20)       /* bytes of any one file */
#define SPM_MAX_PIECES (1 << 23)        /* vocabulary entries */
#define SPM_MAX_PIECE_BYTES 65535       /* bytes of one piece or token */
#define SPM_MAX_ADDED (1 << 20)         /* added/special tokens */
#define SPM_MAX_EXTRA_IDS 100000
#define UNK_PENALTY 10.0                /* sentencepiece's kUnkPenalty */

/* From lib/io/safetensors.c: cJSON parsing behind a lock. */
cJSON *dc__json_parse(const char *text, size_t len, const char **end);

/* ---- bytes and UTF-8 ------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t n, cap;
};

static int sb_grow(struct sbuf *b, size_t extra)
{
	size_t need;
	if (dc_add_size(b->n, extra, &need) || dc_add_size(need, 1, &need))
		return -1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Append n bytes and keep the buffer NUL-terminated. */
static int sb_put(struct sbuf *b, const void *s, size_t n)
{
	if (sb_grow(b, n))
		return -1;
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
	return 0;
}


/* Byte length of the character starting with lead byte c (valid UTF-8). */
static inline size_t u8len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Decode the character at s (valid UTF-8, n >= its length). */
static inline uint32_t u8dec(const unsigned char *s, size_t *len)
{
	unsigned c = s[0];
	if (c < 0x80) { *len = 1; return c; }
	if (c < 0xe0) { *len = 2; return (uint32_t)(c & 0x1f) << 6 | (s[1] & 0x3f); }
	if (c < 0xf0) {
		*len = 3;
		return (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	}
	*len = 4;
	return (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	       (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
}

/* Unicode White_Space (Rust's char::is_whitespace, which tokenizers splits on). */
static inline int is_space_cp(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

/* "▁", U+2581 */
static const unsigned char META[3] = { 0xe2, 0x96, 0x81 };

static inline int is_meta(const unsigned char *s, size_t n)
{
	return n >= 3 && s[0] == META[0] && s[1] == META[1] && s[2] == META[2];
}

/* ---- extended grapheme clusters (UAX #29) -------------------------------- */

enum gcb {
	G_OTHER, G_CR, G_LF, G_CONTROL, G_EXTEND, G_ZWJ, G_RI, G_PREPEND, G_SPACING,
	G_L, G_V, G_T, G_LV, G_LVT, G_PICT /* Extended_Pictographic (GCB Other) */
};

/*
 * Grapheme_Cluster_Break values other than Other, LV and LVT, plus
 * Extended_Pictographic, as sorted disjoint ranges.  Generated from Debian's
 * unicode-data 15.0 (auxiliary/GraphemeBreakProperty.txt and
 * emoji/emoji-data.txt): each listed code point gets its property (LV/LVT
 * skipped, computed below), adjacent code points of one class are merged.
 */
static const struct gcb_range {
	uint32_t lo, hi;
	uint8_t cls;
} gcb_table[] = {
	{0x0, 0x9, G_CONTROL}, {0xA, 0xA, G_LF}, {0xB, 0xC, G_CONTROL}, {0xD, 0xD, G_CR},
	{0xE, 0x1F, G_CONTROL}, {0x7F, 0x9F, G_CONTROL}, {0xA9, 0xA9, G_PICT},
	{0xAD, 0xAD, G_CONTROL}, {0xAE, 0xAE, G_PICT}, {0x300, 0x36F, G_EXTEND},
	{0x483, 0x489, G_EXTEND}, {0x591, 0x5BD, G_EXTEND}, {0x5BF, 0x5BF, G_EXTEND},
	{0x5C1, 0x5C2, G_EXTEND}, {0x5C4, 0x5C5, G_EXTEND}, {0x5C7, 0x5C7, G_EXTEND},
	{0x600, 0x605, G_PREPEND}, {0x610, 0x61A, G_EXTEND}, {0x61C, 0x61C, G_CONTROL},
	{0x64B, 0x65F, G_EXTEND}, {0x670, 0x670, G_EXTEND}, {0x6D6, 0x6DC, G_EXTEND},
	{0x6DD, 0x6DD, G_PREPEND}, {0x6DF, 0x6E4, G_EXTEND}, {0x6E7, 0x6E8, G_EXTEND},
	{0x6EA, 0x6ED, G_EXTEND}, {0x70F, 0x70F, G_PREPEND}, {0x711, 0x711, G_EXTEND},
	{0x730, 0x74A, G_EXTEND}, {0x7A6, 0x7B0, G_EXTEND}, {0x7EB, 0x7F3, G_EXTEND},
	{0x7FD, 0x7FD, G_EXTEND}, {0x816, 0x819, G_EXTEND}, {0x81B, 0x823, G_EXTEND},
	{0x825, 0x827, G_EXTEND}, {0x829, 0x82D, G_EXTEND}, {0x859, 0x85B, G_EXTEND},
	{0x890, 0x891, G_PREPEND}, {0x898, 0x89F, G_EXTEND}, {0x8CA, 0x8E1, G_EXTEND},
	{0x8E2, 0x8E2, G_PREPEND}, {0x8E3, 0x902, G_EXTEND}, {0x903, 0x903, G_SPACING},
	{0x93A, 0x93A, G_EXTEND}, {0x93B, 0x93B, G_SPACING}, {0x93C, 0x93C, G_EXTEND},
	{0x93E, 0x940, G_SPACING}, {0x941, 0x948, G_EXTEND}, {0x949, 0x94C, G_SPACING},
	{0x94D, 0x94D, G_EXTEND}, {0x94E, 0x94F, G_SPACING}, {0x951, 0x957, G_EXTEND},
	{0x962, 0x963, G_EXTEND}, {0x981, 0x981, G_EXTEND}, {0x982, 0x983, G_SPACING},
	{0x9BC, 0x9BC, G_EXTEND}, {0x9BE, 0x9BE, G_EXTEND}, {0x9BF, 0x9C0, G_SPACING},
	{0x9C1, 0x9C4, G_EXTEND}, {0x9C7, 0x9C8, G_SPACING}, {0x9CB, 0x9CC, G_SPACING},
	{0x9CD, 0x9CD, G_EXTEND}, {0x9D7, 0x9D7, G_EXTEND}, {0x9E2, 0x9E3, G_EXTEND},
	{0x9FE, 0x9FE, G_EXTEND}, {0xA01, 0xA02, G_EXTEND}, {0xA03, 0xA03, G_SPACING},
	{0xA3C, 0xA3C, G_EXTEND}, {0xA3E, 0xA40, G_SPACING}, {0xA41, 0xA42, G_EXTEND},
	{0xA47, 0xA48, G_EXTEND}, {0xA4B, 0xA4D, G_EXTEND}, {0xA51, 0xA51, G_EXTEND},
	{0xA70, 0xA71, G_EXTEND}, {0xA75, 0xA75, G_EXTEND}, {0xA81, 0xA82, G_EXTEND},
	{0xA83, 0xA83, G_SPACING}, {0xABC, 0xABC, G_EXTEND}, {0xABE, 0xAC0, G_SPACING},
	{0xAC1, 0xAC5, G_EXTEND}, {0xAC7, 0xAC8, G_EXTEND}, {0xAC9, 0xAC9, G_SPACING},
	{0xACB, 0xACC, G_SPACING}, {0xACD, 0xACD, G_EXTEND}, {0xAE2, 0xAE3, G_EXTEND},
	{0xAFA, 0xAFF, G_EXTEND}, {0xB01, 0xB01, G_EXTEND}, {0xB02, 0xB03, G_SPACING},
	{0xB3C, 0xB3C, G_EXTEND}, {0xB3E, 0xB3F, G_EXTEND}, {0xB40, 0xB40, G_SPACING},
	{0xB41, 0xB44, G_EXTEND}, {0xB47, 0xB48, G_SPACING}, {0xB4B, 0xB4C, G_SPACING},
	{0xB4D, 0xB4D, G_EXTEND}, {0xB55, 0xB57, G_EXTEND}, {0xB62, 0xB63, G_EXTEND},
	{0xB82, 0xB82, G_EXTEND}, {0xBBE, 0xBBE, G_EXTEND}, {0xBBF, 0xBBF, G_SPACING},
	{0xBC0, 0xBC0, G_EXTEND}, {0xBC1, 0xBC2, G_SPACING}, {0xBC6, 0xBC8, G_SPACING},
	{0xBCA, 0xBCC, G_SPACING}, {0xBCD, 0xBCD, G_EXTEND}, {0xBD7, 0xBD7, G_EXTEND},
	{0xC00, 0xC00, G_EXTEND}, {0xC01, 0xC03, G_SPACING}, {0xC04, 0xC04, G_EXTEND},
	{0xC3C, 0xC3C, G_EXTEND}, {0xC3E, 0xC40, G_EXTEND}, {0xC41, 0xC44, G_SPACING},
	{0xC46, 0xC48, G_EXTEND}, {0xC4A, 0xC4D, G_EXTEND}, {0xC55, 0xC56, G_EXTEND},
	{0xC62, 0xC63, G_EXTEND}, {0xC81, 0xC81, G_EXTEND}, {0xC82, 0xC83, G_SPACING},
	{0xCBC, 0xCBC, G_EXTEND}, {0xCBE, 0xCBE, G_SPACING}, {0xCBF, 0xCBF, G_EXTEND},
	{0xCC0, 0xCC1, G_SPACING}, {0xCC2, 0xCC2, G_EXTEND}, {0xCC3, 0xCC4, G_SPACING},
	{0xCC6, 0xCC6, G_EXTEND}, {0xCC7, 0xCC8, G_SPACING}, {0xCCA, 0xCCB, G_SPACING},
	{0xCCC, 0xCCD, G_EXTEND}, {0xCD5, 0xCD6, G_EXTEND}, {0xCE2, 0xCE3, G_EXTEND},
	{0xCF3, 0xCF3, G_SPACING}, {0xD00, 0xD01, G_EXTEND}, {0xD02, 0xD03, G_SPACING},
	{0xD3B, 0xD3C, G_EXTEND}, {0xD3E, 0xD3E, G_EXTEND}, {0xD3F, 0xD40, G_SPACING},
	{0xD41, 0xD44, G_EXTEND}, {0xD46, 0xD48, G_SPACING}, {0xD4A, 0xD4C, G_SPACING},
	{0xD4D, 0xD4D, G_EXTEND}, {0xD4E, 0xD4E, G_PREPEND}, {0xD57, 0xD57, G_EXTEND},
	{0xD62, 0xD63, G_EXTEND}, {0xD81, 0xD81, G_EXTEND}, {0xD82, 0xD83, G_SPACING},
	{0xDCA, 0xDCA, G_EXTEND}, {0xDCF, 0xDCF, G_EXTEND}, {0xDD0, 0xDD1, G_SPACING},
	{0xDD2, 0xDD4, G_EXTEND}, {0xDD6, 0xDD6, G_EXTEND}, {0xDD8, 0xDDE, G_SPACING},
	{0xDDF, 0xDDF, G_EXTEND}, {0xDF2, 0xDF3, G_SPACING}, {0xE31, 0xE31, G_EXTEND},
	{0xE33, 0xE33, G_SPACING}, {0xE34, 0xE3A, G_EXTEND}, {0xE47, 0xE4E, G_EXTEND},
	{0xEB1, 0xEB1, G_EXTEND}, {0xEB3, 0xEB3, G_SPACING}, {0xEB4, 0xEBC, G_EXTEND},
	{0xEC8, 0xECE, G_EXTEND}, {0xF18, 0xF19, G_EXTEND}, {0xF35, 0xF35, G_EXTEND},
	{0xF37, 0xF37, G_EXTEND}, {0xF39, 0xF39, G_EXTEND}, {0xF3E, 0xF3F, G_SPACING},
	{0xF71, 0xF7E, G_EXTEND}, {0xF7F, 0xF7F, G_SPACING}, {0xF80, 0xF84, G_EXTEND},
	{0xF86, 0xF87, G_EXTEND}, {0xF8D, 0xF97, G_EXTEND}, {0xF99, 0xFBC, G_EXTEND},
	{0xFC6, 0xFC6, G_EXTEND}, {0x102D, 0x1030, G_EXTEND}, {0x1031, 0x1031, G_SPACING},
	{0x1032, 0x1037, G_EXTEND}, {0x1039, 0x103A, G_EXTEND}, {0x103B, 0x103C, G_SPACING},
	{0x103D, 0x103E, G_EXTEND}, {0x1056, 0x1057, G_SPACING}, {0x1058, 0x1059, G_EXTEND},
	{0x105E, 0x1060, G_EXTEND}, {0x1071, 0x1074, G_EXTEND}, {0x1082, 0x1082, G_EXTEND},
	{0x1084, 0x1084, G_SPACING}, {0x1085, 0x1086, G_EXTEND}, {0x108D, 0x108D, G_EXTEND},
	{0x109D, 0x109D, G_EXTEND}, {0x1100, 0x115F, G_L}, {0x1160, 0x11A7, G_V},
	{0x11A8, 0x11FF, G_T}, {0x135D, 0x135F, G_EXTEND}, {0x1712, 0x1714, G_EXTEND},
	{0x1715, 0x1715, G_SPACING}, {0x1732, 0x1733, G_EXTEND}, {0x1734, 0x1734, G_SPACING},
	{0x1752, 0x1753, G_EXTEND}, {0x1772, 0x1773, G_EXTEND}, {0x17B4, 0x17B5, G_EXTEND},
	{0x17B6, 0x17B6, G_SPACING}, {0x17B7, 0x17BD, G_EXTEND}, {0x17BE, 0x17C5, G_SPACING},
	{0x17C6, 0x17C6, G_EXTEND}, {0x17C7, 0x17C8, G_SPACING}, {0x17C9, 0x17D3, G_EXTEND},
	{0x17DD, 0x17DD, G_EXTEND}, {0x180B, 0x180D, G_EXTEND}, {0x180E, 0x180E, G_CONTROL},
	{0x180F, 0x180F, G_EXTEND}, {0x1885, 0x1886, G_EXTEND}, {0x18A9, 0x18A9, G_EXTEND},
	{0x1920, 0x1922, G_EXTEND}, {0x1923, 0x1926, G_SPACING}, {0x1927, 0x1928, G_EXTEND},
	{0x1929, 0x192B, G_SPACING}, {0x1930, 0x1931, G_SPACING}, {0x1932, 0x1932, G_EXTEND},
	{0x1933, 0x1938, G_SPACING}, {0x1939, 0x193B, G_EXTEND}, {0x1A17, 0x1A18, G_EXTEND},
	{0x1A19, 0x1A1A, G_SPACING}, {0x1A1B, 0x1A1B, G_EXTEND}, {0x1A55, 0x1A55, G_SPACING},
	{0x1A56, 0x1A56, G_EXTEND}, {0x1A57, 0x1A57, G_SPACING}, {0x1A58, 0x1A5E, G_EXTEND},
	{0x1A60, 0x1A60, G_EXTEND}, {0x1A62, 0x1A62, G_EXTEND}, {0x1A65, 0x1A6C, G_EXTEND},
	{0x1A6D, 0x1A72, G_SPACING}, {0x1A73, 0x1A7C, G_EXTEND}, {0x1A7F, 0x1A7F, G_EXTEND},
	{0x1AB0, 0x1ACE, G_EXTEND}, {0x1B00, 0x1B03, G_EXTEND}, {0x1B04, 0x1B04, G_SPACING},
	{0x1B34, 0x1B3A, G_EXTEND}, {0x1B3B, 0x1B3B, G_SPACING}, {0x1B3C, 0x1B3C, G_EXTEND},
	{0x1B3D, 0x1B41, G_SPACING}, {0x1B42, 0x1B42, G_EXTEND}, {0x1B43, 0x1B44, G_SPACING},
	{0x1B6B, 0x1B73, G_EXTEND}, {0x1B80, 0x1B81, G_EXTEND}, {0x1B82, 0x1B82, G_SPACING},
	{0x1BA1, 0x1BA1, G_SPACING}, {0x1BA2, 0x1BA5, G_EXTEND}, {0x1BA6, 0x1BA7, G_SPACING},
	{0x1BA8, 0x1BA9, G_EXTEND}, {0x1BAA, 0x1BAA, G_SPACING}, {0x1BAB, 0x1BAD, G_EXTEND},
	{0x1BE6, 0x1BE6, G_EXTEND}, {0x1BE7, 0x1BE7, G_SPACING}, {0x1BE8, 0x1BE9, G_EXTEND},
	{0x1BEA, 0x1BEC, G_SPACING}, {0x1BED, 0x1BED, G_EXTEND}, {0x1BEE, 0x1BEE, G_SPACING},
	{0x1BEF, 0x1BF1, G_EXTEND}, {0x1BF2, 0x1BF3, G_SPACING}, {0x1C24, 0x1C2B, G_SPACING},
	{0x1C2C, 0x1C33, G_EXTEND}, {0x1C34, 0x1C35, G_SPACING}, {0x1C36, 0x1C37, G_EXTEND},
	{0x1CD0, 0x1CD2, G_EXTEND}, {0x1CD4, 0x1CE0, G_EXTEND}, {0x1CE1, 0x1CE1, G_SPACING},
	{0x1CE2, 0x1CE8, G_EXTEND}, {0x1CED, 0x1CED, G_EXTEND}, {0x1CF4, 0x1CF4, G_EXTEND},
	{0x1CF7, 0x1CF7, G_SPACING}, {0x1CF8, 0x1CF9, G_EXTEND}, {0x1DC0, 0x1DFF, G_EXTEND},
	{0x200B, 0x200B, G_CONTROL}, {0x200C, 0x200C, G_EXTEND}, {0x200D, 0x200D, G_ZWJ},
	{0x200E, 0x200F, G_CONTROL}, {0x2028, 0x202E, G_CONTROL}, {0x203C, 0x203C, G_PICT},
	{0x2049, 0x2049, G_PICT}, {0x2060, 0x206F, G_CONTROL}, {0x20D0, 0x20F0, G_EXTEND},
	{0x2122, 0x2122, G_PICT}, {0x2139, 0x2139, G_PICT}, {0x2194, 0x2199, G_PICT},
	{0x21A9, 0x21AA, G_PICT}, {0x231A, 0x231B, G_PICT}, {0x2328, 0x2328, G_PICT},
	{0x2388, 0x2388, G_PICT}, {0x23CF, 0x23CF, G_PICT}, {0x23E9, 0x23F3, G_PICT},
	{0x23F8, 0x23FA, G_PICT}, {0x24C2, 0x24C2, G_PICT}, {0x25AA, 0x25AB, G_PICT},
	{0x25B6, 0x25B6, G_PICT}, {0x25C0, 0x25C0, G_PICT}, {0x25FB, 0x25FE, G_PICT},
	{0x2600, 0x2605, G_PICT}, {0x2607, 0x2612, G_PICT}, {0x2614, 0x2685, G_PICT},
	{0x2690, 0x2705, G_PICT}, {0x2708, 0x2712, G_PICT}, {0x2714, 0x2714, G_PICT},
	{0x2716, 0x2716, G_PICT}, {0x271D, 0x271D, G_PICT}, {0x2721, 0x2721, G_PICT},
	{0x2728, 0x2728, G_PICT}, {0x2733, 0x2734, G_PICT}, {0x2744, 0x2744, G_PICT},
	{0x2747, 0x2747, G_PICT}, {0x274C, 0x274C, G_PICT}, {0x274E, 0x274E, G_PICT},
	{0x2753, 0x2755, G_PICT}, {0x2757, 0x2757, G_PICT}, {0x2763, 0x2767, G_PICT},
	{0x2795, 0x2797, G_PICT}, {0x27A1, 0x27A1, G_PICT}, {0x27B0, 0x27B0, G_PICT},
	{0x27BF, 0x27BF, G_PICT}, {0x2934, 0x2935, G_PICT}, {0x2B05, 0x2B07, G_PICT},
	{0x2B1B, 0x2B1C, G_PICT}, {0x2B50, 0x2B50, G_PICT}, {0x2B55, 0x2B55, G_PICT},
	{0x2CEF, 0x2CF1, G_EXTEND}, {0x2D7F, 0x2D7F, G_EXTEND}, {0x2DE0, 0x2DFF, G_EXTEND},
	{0x302A, 0x302F, G_EXTEND}, {0x3030, 0x3030, G_PICT}, {0x303D, 0x303D, G_PICT},
	{0x3099, 0x309A, G_EXTEND}, {0x3297, 0x3297, G_PICT}, {0x3299, 0x3299, G_PICT},
	{0xA66F, 0xA672, G_EXTEND}, {0xA674, 0xA67D, G_EXTEND}, {0xA69E, 0xA69F, G_EXTEND},
	{0xA6F0, 0xA6F1, G_EXTEND}, {0xA802, 0xA802, G_EXTEND}, {0xA806, 0xA806, G_EXTEND},
	{0xA80B, 0xA80B, G_EXTEND}, {0xA823, 0xA824, G_SPACING}, {0xA825, 0xA826, G_EXTEND},
	{0xA827, 0xA827, G_SPACING}, {0xA82C, 0xA82C, G_EXTEND}, {0xA880, 0xA881, G_SPACING},
	{0xA8B4, 0xA8C3, G_SPACING}, {0xA8C4, 0xA8C5, G_EXTEND}, {0xA8E0, 0xA8F1, G_EXTEND},
	{0xA8FF, 0xA8FF, G_EXTEND}, {0xA926, 0xA92D, G_EXTEND}, {0xA947, 0xA951, G_EXTEND},
	{0xA952, 0xA953, G_SPACING}, {0xA960, 0xA97C, G_L}, {0xA980, 0xA982, G_EXTEND},
	{0xA983, 0xA983, G_SPACING}, {0xA9B3, 0xA9B3, G_EXTEND}, {0xA9B4, 0xA9B5, G_SPACING},
	{0xA9B6, 0xA9B9, G_EXTEND}, {0xA9BA, 0xA9BB, G_SPACING}, {0xA9BC, 0xA9BD, G_EXTEND},
	{0xA9BE, 0xA9C0, G_SPACING}, {0xA9E5, 0xA9E5, G_EXTEND}, {0xAA29, 0xAA2E, G_EXTEND},
	{0xAA2F, 0xAA30, G_SPACING}, {0xAA31, 0xAA32, G_EXTEND}, {0xAA33, 0xAA34, G_SPACING},
	{0xAA35, 0xAA36, G_EXTEND}, {0xAA43, 0xAA43, G_EXTEND}, {0xAA4C, 0xAA4C, G_EXTEND},
	{0xAA4D, 0xAA4D, G_SPACING}, {0xAA7C, 0xAA7C, G_EXTEND}, {0xAAB0, 0xAAB0, G_EXTEND},
	{0xAAB2, 0xAAB4, G_EXTEND}, {0xAAB7, 0xAAB8, G_EXTEND}, {0xAABE, 0xAABF, G_EXTEND},
	{0xAAC1, 0xAAC1, G_EXTEND}, {0xAAEB, 0xAAEB, G_SPACING}, {0xAAEC, 0xAAED, G_EXTEND},
	{0xAAEE, 0xAAEF, G_SPACING}, {0xAAF5, 0xAAF5, G_SPACING}, {0xAAF6, 0xAAF6, G_EXTEND},
	{0xABE3, 0xABE4, G_SPACING}, {0xABE5, 0xABE5, G_EXTEND}, {0xABE6, 0xABE7, G_SPACING},
	{0xABE8, 0xABE8, G_EXTEND}, {0xABE9, 0xABEA, G_SPACING}, {0xABEC, 0xABEC, G_SPACING},
	{0xABED, 0xABED, G_EXTEND}, {0xD7B0, 0xD7C6, G_V}, {0xD7CB, 0xD7FB, G_T},
	{0xFB1E, 0xFB1E, G_EXTEND}, {0xFE00, 0xFE0F, G_EXTEND}, {0xFE20, 0xFE2F, G_EXTEND},
	{0xFEFF, 0xFEFF, G_CONTROL}, {0xFF9E, 0xFF9F, G_EXTEND}, {0xFFF0, 0xFFFB, G_CONTROL},
	{0x101FD, 0x101FD, G_EXTEND}, {0x102E0, 0x102E0, G_EXTEND},
	{0x10376, 0x1037A, G_EXTEND}, {0x10A01, 0x10A03, G_EXTEND},
	{0x10A05, 0x10A06, G_EXTEND}, {0x10A0C, 0x10A0F, G_EXTEND},
	{0x10A38, 0x10A3A, G_EXTEND}, {0x10A3F, 0x10A3F, G_EXTEND},
	{0x10AE5, 0x10AE6, G_EXTEND}, {0x10D24, 0x10D27, G_EXTEND},
	{0x10EAB, 0x10EAC, G_EXTEND}, {0x10EFD, 0x10EFF, G_EXTEND},
	{0x10F46, 0x10F50, G_EXTEND}, {0x10F82, 0x10F85, G_EXTEND},
	{0x11000, 0x11000, G_SPACING}, {0x11001, 0x11001, G_EXTEND},
	{0x11002, 0x11002, G_SPACING}, {0x11038, 0x11046, G_EXTEND},
	{0x11070, 0x11070, G_EXTEND}, {0x11073, 0x11074, G_EXTEND},
	{0x1107F, 0x11081, G_EXTEND}, {0x11082, 0x11082, G_SPACING},
	{0x110B0, 0x110B2, G_SPACING}, {0x110B3, 0x110B6, G_EXTEND},
	{0x110B7, 0x110B8, G_SPACING}, {0x110B9, 0x110BA, G_EXTEND},
	{0x110BD, 0x110BD, G_PREPEND}, {0x110C2, 0x110C2, G_EXTEND},
	{0x110CD, 0x110CD, G_PREPEND}, {0x11100, 0x11102, G_EXTEND},
	{0x11127, 0x1112B, G_EXTEND}, {0x1112C, 0x1112C, G_SPACING},
	{0x1112D, 0x11134, G_EXTEND}, {0x11145, 0x11146, G_SPACING},
	{0x11173, 0x11173, G_EXTEND}, {0x11180, 0x11181, G_EXTEND},
	{0x11182, 0x11182, G_SPACING}, {0x111B3, 0x111B5, G_SPACING},
	{0x111B6, 0x111BE, G_EXTEND}, {0x111BF, 0x111C0, G_SPACING},
	{0x111C2, 0x111C3, G_PREPEND}, {0x111C9, 0x111CC, G_EXTEND},
	{0x111CE, 0x111CE, G_SPACING}, {0x111CF, 0x111CF, G_EXTEND},
	{0x1122C, 0x1122E, G_SPACING}, {0x1122F, 0x11231, G_EXTEND},
	{0x11232, 0x11233, G_SPACING}, {0x11234, 0x11234, G_EXTEND},
	{0x11235, 0x11235, G_SPACING}, {0x11236, 0x11237, G_EXTEND},
	{0x1123E, 0x1123E, G_EXTEND}, {0x11241, 0x11241, G_EXTEND},
	{0x112DF, 0x112DF, G_EXTEND}, {0x112E0, 0x112E2, G_SPACING},
	{0x112E3, 0x112EA, G_EXTEND}, {0x11300, 0x11301, G_EXTEND},
	{0x11302, 0x11303, G_SPACING}, {0x1133B, 0x1133C, G_EXTEND},
	{0x1133E, 0x1133E, G_EXTEND}, {0x1133F, 0x1133F, G_SPACING},
	{0x11340, 0x11340, G_EXTEND}, {0x11341, 0x11344, G_SPACING},
	{0x11347, 0x11348, G_SPACING}, {0x1134B, 0x1134D, G_SPACING},
	{0x11357, 0x11357, G_EXTEND}, {0x11362, 0x11363, G_SPACING},
	{0x11366, 0x1136C, G_EXTEND}, {0x11370, 0x11374, G_EXTEND},
	{0x11435, 0x11437, G_SPACING}, {0x11438, 0x1143F, G_EXTEND},
	{0x11440, 0x11441, G_SPACING}, {0x11442, 0x11444, G_EXTEND},
	{0x11445, 0x11445, G_SPACING}, {0x11446, 0x11446, G_EXTEND},
	{0x1145E, 0x1145E, G_EXTEND}, {0x114B0, 0x114B0, G_EXTEND},
	{0x114B1, 0x114B2, G_SPACING}, {0x114B3, 0x114B8, G_EXTEND},
	{0x114B9, 0x114B9, G_SPACING}, {0x114BA, 0x114BA, G_EXTEND},
	{0x114BB, 0x114BC, G_SPACING}, {0x114BD, 0x114BD, G_EXTEND},
	{0x114BE, 0x114BE, G_SPACING}, {0x114BF, 0x114C0, G_EXTEND},
	{0x114C1, 0x114C1, G_SPACING}, {0x114C2, 0x114C3, G_EXTEND},
	{0x115AF, 0x115AF, G_EXTEND}, {0x115B0, 0x115B1, G_SPACING},
	{0x115B2, 0x115B5, G_EXTEND}, {0x115B8, 0x115BB, G_SPACING},
	{0x115BC, 0x115BD, G_EXTEND}, {0x115BE, 0x115BE, G_SPACING},
	{0x115BF, 0x115C0, G_EXTEND}, {0x115DC, 0x115DD, G_EXTEND},
	{0x11630, 0x11632, G_SPACING}, {0x11633, 0x1163A, G_EXTEND},
	{0x1163B, 0x1163C, G_SPACING}, {0x1163D, 0x1163D, G_EXTEND},
	{0x1163E, 0x1163E, G_SPACING}, {0x1163F, 0x11640, G_EXTEND},
	{0x116AB, 0x116AB, G_EXTEND}, {0x116AC, 0x116AC, G_SPACING},
	{0x116AD, 0x116AD, G_EXTEND}, {0x116AE, 0x116AF, G_SPACING},
	{0x116B0, 0x116B5, G_EXTEND}, {0x116B6, 0x116B6, G_SPACING},
	{0x116B7, 0x116B7, G_EXTEND}, {0x1171D, 0x1171F, G_EXTEND},
	{0x11722, 0x11725, G_EXTEND}, {0x11726, 0x11726, G_SPACING},
	{0x11727, 0x1172B, G_EXTEND}, {0x1182C, 0x1182E, G_SPACING},
	{0x1182F, 0x11837, G_EXTEND}, {0x11838, 0x11838, G_SPACING},
	{0x11839, 0x1183A, G_EXTEND}, {0x11930, 0x11930, G_EXTEND},
	{0x11931, 0x11935, G_SPACING}, {0x11937, 0x11938, G_SPACING},
	{0x1193B, 0x1193C, G_EXTEND}, {0x1193D, 0x1193D, G_SPACING},
	{0x1193E, 0x1193E, G_EXTEND}, {0x1193F, 0x1193F, G_PREPEND},
	{0x11940, 0x11940, G_SPACING}, {0x11941, 0x11941, G_PREPEND},
	{0x11942, 0x11942, G_SPACING}, {0x11943, 0x11943, G_EXTEND},
	{0x119D1, 0x119D3, G_SPACING}, {0x119D4, 0x119D7, G_EXTEND},
	{0x119DA, 0x119DB, G_EXTEND}, {0x119DC, 0x119DF, G_SPACING},
	{0x119E0, 0x119E0, G_EXTEND}, {0x119E4, 0x119E4, G_SPACING},
	{0x11A01, 0x11A0A, G_EXTEND}, {0x11A33, 0x11A38, G_EXTEND},
	{0x11A39, 0x11A39, G_SPACING}, {0x11A3A, 0x11A3A, G_PREPEND},
	{0x11A3B, 0x11A3E, G_EXTEND}, {0x11A47, 0x11A47, G_EXTEND},
	{0x11A51, 0x11A56, G_EXTEND}, {0x11A57, 0x11A58, G_SPACING},
	{0x11A59, 0x11A5B, G_EXTEND}, {0x11A84, 0x11A89, G_PREPEND},
	{0x11A8A, 0x11A96, G_EXTEND}, {0x11A97, 0x11A97, G_SPACING},
	{0x11A98, 0x11A99, G_EXTEND}, {0x11C2F, 0x11C2F, G_SPACING},
	{0x11C30, 0x11C36, G_EXTEND}, {0x11C38, 0x11C3D, G_EXTEND},
	{0x11C3E, 0x11C3E, G_SPACING}, {0x11C3F, 0x11C3F, G_EXTEND},
	{0x11C92, 0x11CA7, G_EXTEND}, {0x11CA9, 0x11CA9, G_SPACING},
	{0x11CAA, 0x11CB0, G_EXTEND}, {0x11CB1, 0x11CB1, G_SPACING},
	{0x11CB2, 0x11CB3, G_EXTEND}, {0x11CB4, 0x11CB4, G_SPACING},
	{0x11CB5, 0x11CB6, G_EXTEND}, {0x11D31, 0x11D36, G_EXTEND},
	{0x11D3A, 0x11D3A, G_EXTEND}, {0x11D3C, 0x11D3D, G_EXTEND},
	{0x11D3F, 0x11D45, G_EXTEND}, {0x11D46, 0x11D46, G_PREPEND},
	{0x11D47, 0x11D47, G_EXTEND}, {0x11D8A, 0x11D8E, G_SPACING},
	{0x11D90, 0x11D91, G_EXTEND}, {0x11D93, 0x11D94, G_SPACING},
	{0x11D95, 0x11D95, G_EXTEND}, {0x11D96, 0x11D96, G_SPACING},
	{0x11D97, 0x11D97, G_EXTEND}, {0x11EF3, 0x11EF4, G_EXTEND},
	{0x11EF5, 0x11EF6, G_SPACING}, {0x11F00, 0x11F01, G_EXTEND},
	{0x11F02, 0x11F02, G_PREPEND}, {0x11F03, 0x11F03, G_SPACING},
	{0x11F34, 0x11F35, G_SPACING}, {0x11F36, 0x11F3A, G_EXTEND},
	{0x11F3E, 0x11F3F, G_SPACING}, {0x11F40, 0x11F40, G_EXTEND},
	{0x11F41, 0x11F41, G_SPACING}, {0x11F42, 0x11F42, G_EXTEND},
	{0x13430, 0x1343F, G_CONTROL}, {0x13440, 0x13440, G_EXTEND},
	{0x13447, 0x13455, G_EXTEND}, {0x16AF0, 0x16AF4, G_EXTEND},
	{0x16B30, 0x16B36, G_EXTEND}, {0x16F4F, 0x16F4F, G_EXTEND},
	{0x16F51, 0x16F87, G_SPACING}, {0x16F8F, 0x16F92, G_EXTEND},
	{0x16FE4, 0x16FE4, G_EXTEND}, {0x16FF0, 0x16FF1, G_SPACING},
	{0x1BC9D, 0x1BC9E, G_EXTEND}, {0x1BCA0, 0x1BCA3, G_CONTROL},
	{0x1CF00, 0x1CF2D, G_EXTEND}, {0x1CF30, 0x1CF46, G_EXTEND},
	{0x1D165, 0x1D165, G_EXTEND}, {0x1D166, 0x1D166, G_SPACING},
	{0x1D167, 0x1D169, G_EXTEND}, {0x1D16D, 0x1D16D, G_SPACING},
	{0x1D16E, 0x1D172, G_EXTEND}, {0x1D173, 0x1D17A, G_CONTROL},
	{0x1D17B, 0x1D182, G_EXTEND}, {0x1D185, 0x1D18B, G_EXTEND},
	{0x1D1AA, 0x1D1AD, G_EXTEND}, {0x1D242, 0x1D244, G_EXTEND},
	{0x1DA00, 0x1DA36, G_EXTEND}, {0x1DA3B, 0x1DA6C, G_EXTEND},
	{0x1DA75, 0x1DA75, G_EXTEND}, {0x1DA84, 0x1DA84, G_EXTEND},
	{0x1DA9B, 0x1DA9F, G_EXTEND}, {0x1DAA1, 0x1DAAF, G_EXTEND},
	{0x1E000, 0x1E006, G_EXTEND}, {0x1E008, 0x1E018, G_EXTEND},
	{0x1E01B, 0x1E021, G_EXTEND}, {0x1E023, 0x1E024, G_EXTEND},
	{0x1E026, 0x1E02A, G_EXTEND}, {0x1E08F, 0x1E08F, G_EXTEND},
	{0x1E130, 0x1E136, G_EXTEND}, {0x1E2AE, 0x1E2AE, G_EXTEND},
	{0x1E2EC, 0x1E2EF, G_EXTEND}, {0x1E4EC, 0x1E4EF, G_EXTEND},
	{0x1E8D0, 0x1E8D6, G_EXTEND}, {0x1E944, 0x1E94A, G_EXTEND}, {0x1F000, 0x1F0FF, G_PICT},
	{0x1F10D, 0x1F10F, G_PICT}, {0x1F12F, 0x1F12F, G_PICT}, {0x1F16C, 0x1F171, G_PICT},
	{0x1F17E, 0x1F17F, G_PICT}, {0x1F18E, 0x1F18E, G_PICT}, {0x1F191, 0x1F19A, G_PICT},
	{0x1F1AD, 0x1F1E5, G_PICT}, {0x1F1E6, 0x1F1FF, G_RI}, {0x1F201, 0x1F20F, G_PICT},
	{0x1F21A, 0x1F21A, G_PICT}, {0x1F22F, 0x1F22F, G_PICT}, {0x1F232, 0x1F23A, G_PICT},
	{0x1F23C, 0x1F23F, G_PICT}, {0x1F249, 0x1F3FA, G_PICT}, {0x1F3FB, 0x1F3FF, G_EXTEND},
	{0x1F400, 0x1F53D, G_PICT}, {0x1F546, 0x1F64F, G_PICT}, {0x1F680, 0x1F6FF, G_PICT},
	{0x1F774, 0x1F77F, G_PICT}, {0x1F7D5, 0x1F7FF, G_PICT}, {0x1F80C, 0x1F80F, G_PICT},
	{0x1F848, 0x1F84F, G_PICT}, {0x1F85A, 0x1F85F, G_PICT}, {0x1F888, 0x1F88F, G_PICT},
	{0x1F8AE, 0x1F8FF, G_PICT}, {0x1F90C, 0x1F93A, G_PICT}, {0x1F93C, 0x1F945, G_PICT},
	{0x1F947, 0x1FAFF, G_PICT}, {0x1FC00, 0x1FFFD, G_PICT}, {0xE0000, 0xE001F, G_CONTROL},
	{0xE0020, 0xE007F, G_EXTEND}, {0xE0080, 0xE00FF, G_CONTROL},
	{0xE0100, 0xE01EF, G_EXTEND}, {0xE01F0, 0xE0FFF, G_CONTROL},
};

static enum gcb gcb_of(uint32_t c)
{
	if (c >= 0xac00 && c <= 0xd7a3)
		return (c - 0xac00) % 28 == 0 ? G_LV : G_LVT;
	size_t lo = 0, hi = sizeof gcb_table / sizeof *gcb_table;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c < gcb_table[mid].lo)
			hi = mid;
		else if (c > gcb_table[mid].hi)
			lo = mid + 1;
		else
			return (enum gcb)gcb_table[mid].cls;
	}
	return G_OTHER;
}

/*
 * End of the extended grapheme cluster starting at s[i] (rules GB3-GB13 of
 * Unicode 15.0; s[0..n) valid UTF-8, i < n).
 */
static size_t grapheme_end(const unsigned char *s, size_t n, size_t i)
{
	size_t len;
	enum gcb prev = gcb_of(u8dec(s + i, &len));
	size_t j = i + len;
	int pict = prev == G_PICT;        /* ExtPict Extend* seen (1), then ZWJ (2) */
	int ri = prev == G_RI;            /* regional indicators in a row */
	while (j < n) {
		enum gcb c = gcb_of(u8dec(s + j, &len));
		int join;
		if (prev == G_CR && c == G_LF)
			join = 1;
		else if (prev == G_CR || prev == G_LF || prev == G_CONTROL)
			join = 0;
		else if (c == G_CR || c == G_LF || c == G_CONTROL)
			join = 0;
		else if (prev == G_L && (c == G_L || c == G_V || c == G_LV || c == G_LVT))
			join = 1;
		else if ((prev == G_LV || prev == G_V) && (c == G_V || c == G_T))
			join = 1;
		else if ((prev == G_LVT || prev == G_T) && c == G_T)
			join = 1;
		else if (c == G_EXTEND || c == G_ZWJ || c == G_SPACING || prev == G_PREPEND)
			join = 1;
		else if (prev == G_ZWJ && c == G_PICT && pict == 2)
			join = 1;
		else if (prev == G_RI && c == G_RI && ri % 2 == 1)
			join = 1;
		else
			join = 0;
		if (!join)
			break;
		if (c == G_PICT)
			pict = 1;
		else if (pict == 1 && c == G_ZWJ)
			pict = 2;
		else if (!(pict == 1 && c == G_EXTEND))
			pict = 0;
		ri = c == G_RI ? ri + 1 : 0;
		prev = c;
		j += len;
	}
	return j;
}

/* ---- byte tries ------------------------------------------------------------ */

/*
 * A trie over byte strings, nodes numbered breadth-first (root 0), each
 * node's edges contiguous and sorted by label.  val[node] is the value of
 * the key ending there, -1 if none.
 */
struct trie {
	uint32_t *first;
	uint16_t *nedge;
	int32_t *val;
	uint8_t *label;
	uint32_t *child;
	uint32_t nnodes;
};

struct tkey {
	const unsigned char *s;
	uint32_t len;
	int32_t val;
	uint32_t order;
};

static int tkey_cmp(const void *pa, const void *pb)
{
	const struct tkey *a = pa, *b = pb;
	uint32_t m = a->len < b->len ? a->len : b->len;
	int c = m ? memcmp(a->s, b->s, m) : 0;
	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static void trie_free(struct trie *t)
{
	free(t->first);
	free(t->nedge);
	free(t->val);
	free(t->label);
	free(t->child);
	memset(t, 0, sizeof *t);
}

/*
 * Build from n keys (sorted in place); for equal keys the one with the
 * largest `order` wins.  Keys must be non-empty.
 */
static enum dc_status trie_build(struct trie *t, struct tkey *k, size_t n)
{
	memset(t, 0, sizeof *t);
	if (n)
		qsort(k, n, sizeof *k, tkey_cmp);
	size_t m = 0, total = 1;
	for (size_t i = 0; i < n; i++) {
		if (m && k[m - 1].len == k[i].len && memcmp(k[m - 1].s, k[i].s, k[i].len) == 0)
			k[m - 1] = k[i];
		else
			k[m++] = k[i];
	}
	for (size_t i = 0; i < m; i++)
		total += k[i].len;
	if (total > UINT32_MAX / 4)
		return dc_fail(DC_ELIMIT, "tokenizer vocabulary too large");
	uint32_t *q = malloc(total * 3 * sizeof *q);   /* per node: lo, hi, depth */
	t->first = malloc(total * sizeof *t->first);
	t->nedge = malloc(total * sizeof *t->nedge);
	t->val = malloc(total * sizeof *t->val);
	t->label = malloc(total);
	t->child = malloc(total * sizeof *t->child);
	if (!q || !t->first || !t->nedge || !t->val || !t->label || !t->child) {
		free(q);
		trie_free(t);
		return dc_fail(DC_ENOMEM, "out of memory building the tokenizer trie");
	}
	uint32_t nnodes = 1, nedges = 0;
	q[0] = 0;
	q[1] = (uint32_t)m;
	q[2] = 0;
	for (uint32_t node = 0; node < nnodes; node++) {
		uint32_t lo = q[3 * node], hi = q[3 * node + 1], d = q[3 * node + 2];
		t->val[node] = -1;
		if (lo < hi && k[lo].len == d)
			t->val[node] = k[lo++].val;
		t->first[node] = nedges;
		uint32_t cnt = 0;
		while (lo < hi) {
			unsigned char c = k[lo].s[d];
			uint32_t j = lo + 1;
			while (j < hi && k[j].s[d] == c)
				j++;
			t->label[nedges] = c;
			t->child[nedges] = nnodes;
			q[3 * nnodes] = lo;
			q[3 * nnodes + 1] = j;
			q[3 * nnodes + 2] = d + 1;
			nnodes++;
			nedges++;
			cnt++;
			lo = j;
		}
		t->nedge[node] = (uint16_t)cnt;
	}
	free(q);
	t->nnodes = nnodes;
	return DC_OK;
}

/* Child of `node` along byte c; 0 (the root, never a child) if none. */
static inline uint32_t trie_next(const struct trie *t, uint32_t node, unsigned char c)
{
	uint32_t f = t->first[node], n = t->nedge[node];
	const uint8_t *lab = t->label + f;
	if (n <= 8) {
		for (uint32_t i = 0; i < n; i++)
			if (lab[i] == c)
				return t->child[f + i];
		return 0;
	}
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (lab[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && lab[lo] == c ? t->child[f + lo] : 0;
}

/* Value of exactly the key s[0..n), -1 if absent. */
static int32_t trie_get(const struct trie *t, const void *key, size_t n)
{
	const unsigned char *s = key;
	if (!t->nnodes || !n)
		return -1;
	uint32_t node = 0;
	for (size_t i = 0; i < n; i++)
		if (!(node = trie_next(t, node, s[i])))
			return -1;
	return t->val[node];
}

/* Longest key that is a prefix of s[0..n): its value (-1 if none), length in *len. */
static int32_t trie_longest(const struct trie *t, const unsigned char *s, size_t n, size_t *len)
{
	int32_t v = -1;
	uint32_t node = 0;
	if (!t->nnodes)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!(node = trie_next(t, node, s[i])))
			break;
		if (t->val[node] >= 0) {
			v = t->val[node];
			*len = i + 1;
		}
	}
	return v;
}

/* ---- the tokenizer ------------------------------------------------------------ */

struct added {
	uint32_t off, len;            /* content in the string pool */
	int32_t id;
	uint8_t lstrip, rstrip, normalized, single_word;
};

struct dc_spm {
	char *pool;                   /* NUL-terminated pieces and token contents */
	uint32_t *voff, *vlen;        /* vocabulary entry i: pool + voff[i] */
	double *score;
	int nvocab;
	struct trie vocab;            /* piece -> id (the last of duplicates) */
	struct added *added;
	int nadded;
	struct trie raw, norm;        /* added contents (raw / normalised text) -> index */
	const char **top;             /* ids nvocab..size-1 that are added tokens only */
	int size, unk, eos, pad, max_length, byte_fallback;
	int32_t byte_id[256];
	double unk_score;
	uint32_t *units;              /* charsmap double array, NULL if none */
	size_t nunits;
	char *repl;                   /* charsmap replacement pool */
	size_t nrepl;
};

/* Everything read from the files, before the tables are built. */
struct build {
	const char *name;             /* file named in messages */
	struct sbuf pool;
	uint32_t *voff, *vlen;
	double *score;
	size_t nv, capv;
	struct added *added;
	size_t na, capa;
	unsigned char *charsmap;
	size_t charsmap_len;
	int model_unk, model_eos, model_pad, byte_fallback;
	/* tokenizer_config.json / special_tokens_map.json */
	char *eos_name, *unk_name, *pad_name;
	char **special;               /* additional special tokens */
	size_t nspecial;
	long extra_ids;               /* -1: not given (100) */
	int max_length;
};

static void build_release(struct build *b)
{
	free(b->pool.p);
	free(b->voff);
	free(b->vlen);
	free(b->score);
	free(b->added);
	free(b->charsmap);
	free(b->eos_name);
	free(b->unk_name);
	free(b->pad_name);
	for (size_t i = 0; i < b->nspecial; i++)
		free(b->special[i]);
	free(b->special);
}

static void build_init(struct build *b, const char *name)
{
	memset(b, 0, sizeof *b);
	b->name = name;
	b->model_unk = b->model_eos = b->model_pad = INT_MIN;    /* not given */
	b->extra_ids = -1;
}

/* Check a piece or token string; 0 if usable. */
static enum dc_status check_str(const struct build *b, const void *s, size_t n, const char *what,
                                size_t idx)
{
	if (n == 0)
		return dc_fail(DC_EFORMAT, "'%s': %s %zu is empty", b->name, what, idx);
	if (n > SPM_MAX_PIECE_BYTES)
		return dc_fail(DC_EFORMAT, "'%s': %s %zu is longer than %d bytes", b->name, what, idx,
		               SPM_MAX_PIECE_BYTES);
	if (memchr(s, 0, n) || !dc_utf8_valid(s, n))
		return dc_fail(DC_EFORMAT, "'%s': %s %zu is not valid UTF-8 text", b->name, what, idx);
	return DC_OK;
}

/* Copy a string into the pool; its offset in *off. */
static enum dc_status pool_add(struct build *b, const void *s, size_t n, uint32_t *off)
{
	if (b->pool.n > UINT32_MAX - n - 1 || sb_put(&b->pool, s, n) || sb_put(&b->pool, "", 1))
		return dc_fail(DC_ENOMEM, "'%s': out of memory", b->name);
	*off = (uint32_t)(b->pool.n - n - 1);
	return DC_OK;
}

static enum dc_status vocab_add(struct build *b, const void *s, size_t n, double score)
{
	enum dc_status st = check_str(b, s, n, "piece", b->nv);
	if (st)
		return st;
	if (!isfinite(score))
		return dc_fail(DC_EFORMAT, "'%s': piece %zu has a non-finite score", b->name, b->nv);
	if (b->nv >= SPM_MAX_PIECES)
		return dc_fail(DC_ELIMIT, "'%s': more than %d pieces", b->name, SPM_MAX_PIECES);
	if (b->nv == b->capv) {
		size_t cap = b->capv ? 2 * b->capv : 1024;
		uint32_t *o = realloc(b->voff, cap * sizeof *o);
		if (o)
			b->voff = o;
		uint32_t *l = realloc(b->vlen, cap * sizeof *l);
		if (l)
			b->vlen = l;
		double *sc = realloc(b->score, cap * sizeof *sc);
		if (sc)
			b->score = sc;
		if (!o || !l || !sc)
			return dc_fail(DC_ENOMEM, "'%s': out of memory", b->name);
		b->capv = cap;
	}
	uint32_t off;
	if ((st = pool_add(b, s, n, &off)))
		return st;
	b->voff[b->nv] = off;
	b->vlen[b->nv] = (uint32_t)n;
	b->score[b->nv] = score;
	b->nv++;
	return DC_OK;
}

static enum dc_status added_add(struct build *b, const char *s, int32_t id, int lstrip,
                                int rstrip, int normalized, int single_word)
{
	size_t n = strlen(s);
	enum dc_status st = check_str(b, s, n, "added token", b->na);
	if (st)
		return st;
	if (b->na >= SPM_MAX_ADDED)
		return dc_fail(DC_ELIMIT, "'%s': more than %d added tokens", b->name, SPM_MAX_ADDED);
	if (b->na == b->capa) {
		size_t cap = b->capa ? 2 * b->capa : 128;
		struct added *a = realloc(b->added, cap * sizeof *a);
		if (!a)
			return dc_fail(DC_ENOMEM, "'%s': out of memory", b->name);
		b->added = a;
		b->capa = cap;
	}
	struct added *a = &b->added[b->na];
	if ((st = pool_add(b, s, n, &a->off)))
		return st;
	a->len = (uint32_t)n;
	a->id = id;
	a->lstrip = !!lstrip;
	a->rstrip = !!rstrip;
	a->normalized = !!normalized;
	a->single_word = !!single_word;
	b->na++;
	return DC_OK;
}

/* ---- precompiled charsmap ------------------------------------------------------ */

static enum dc_status charsmap_load(struct dc_spm *t, const unsigned char *blob, size_t len,
                                    const char *name)
{
	if (len == 0)
		return DC_OK;           /* identity normaliser */
	if (len < 4)
		return dc_fail(DC_EFORMAT, "'%s': precompiled charsmap of %zu bytes is too short",
		               name, len);
	uint32_t tsize = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
	                 (uint32_t)blob[3] << 24;
	if (tsize > len - 4 || tsize % 4 || tsize == 0)
		return dc_fail(DC_EFORMAT, "'%s': precompiled charsmap trie size %u does not fit "
		               "its %zu bytes", name, tsize, len);
	size_t nrepl = len - 4 - tsize;
	if (!dc_utf8_valid(blob + 4 + tsize, nrepl))
		return dc_fail(DC_EFORMAT, "'%s': precompiled charsmap replacements are not UTF-8",
		               name);
	t->nunits = tsize / 4;
	t->units = malloc(tsize);
	t->repl = malloc(nrepl + 1);
	if (!t->units || !t->repl)
		return dc_fail(DC_ENOMEM, "'%s': out of memory", name);
	for (size_t i = 0; i < t->nunits; i++) {
		const unsigned char *p = blob + 4 + 4 * i;
		t->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		              (uint32_t)p[3] << 24;
	}
	if (nrepl)
		memcpy(t->repl, blob + 4 + tsize, nrepl);
	t->repl[nrepl] = 0;
	t->nrepl = nrepl;
	return DC_OK;
}

/*
 * The replacement for the shortest key that is a prefix of s[0..n) (Darts
 * common-prefix search, first result), or NULL.  A value that does not
 * point at the start of a character of the pool counts as no match.
 */
static const char *charsmap_first(const struct dc_spm *t, const unsigned char *s, size_t n,
                                  size_t *rlen)
{
	const uint32_t *u = t->units;
	size_t pos = 0;
	uint32_t unit = u[0];
	pos ^= (unit >> 10) << ((unit & (1u << 9)) >> 6);
	for (size_t i = 0; i < n; i++) {
		pos ^= s[i];
		if (pos >= t->nunits)
			return NULL;
		unit = u[pos];
		if ((unit & ((1u << 31) | 0xff)) != s[i])
			return NULL;
		pos ^= (unit >> 10) << ((unit & (1u << 9)) >> 6);
		if ((unit >> 8) & 1) {
			if (pos >= t->nunits)
				return NULL;
			size_t v = u[pos] & ((1u << 31) - 1);
			if (v >= t->nrepl || (t->repl[v] & 0xc0) == 0x80)
				return NULL;
			*rlen = strnlen(t->repl + v, t->nrepl - v);
			return t->repl + v;
		}
	}
	return NULL;
}

/* Append the normalised form of s[0..n) (valid UTF-8) to out. */
static int normalize(const struct dc_spm *t, const unsigned char *s, size_t n, struct sbuf *out)
{
	if (!t->units)
		return sb_put(out, s, n);
	size_t i = 0;
	while (i < n) {
		size_t g = grapheme_end(s, n, i), rlen;
		const char *r;
		if (g - i < 6 && (r = charsmap_first(t, s + i, g - i, &rlen))) {
			if (sb_put(out, r, rlen))
				return -1;
			i = g;
			continue;
		}
		while (i < g) {
			size_t cl = u8len(s[i]);
			r = charsmap_first(t, s + i, cl, &rlen);
			if (r ? sb_put(out, r, rlen) : sb_put(out, s + i, cl))
				return -1;
			i += cl;
		}
	}
	return 0;
}

/* ---- spiece.model (protobuf) ------------------------------------------------- */

struct pb {
	const unsigned char *p, *end;
};

static int pb_varint(struct pb *b, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (b->p >= b->end)
			return -1;
		unsigned c = *b->p++;
		if (shift == 63 && c > 1)
			return -1;
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Next field: number and wire type; -1 on malformed input. */
static int pb_tag(struct pb *b, uint32_t *field, int *wt)
{
	uint64_t v;
	if (pb_varint(b, &v) || (v >> 3) == 0 || (v >> 3) > 0x1fffffff)
		return -1;
	*field = (uint32_t)(v >> 3);
	*wt = (int)(v & 7);
	return 0;
}

static int pb_bytes(struct pb *b, struct pb *sub)
{
	uint64_t n;
	if (pb_varint(b, &n) || n > (uint64_t)(b->end - b->p))
		return -1;
	sub->p = b->p;
	sub->end = b->p + n;
	b->p += n;
	return 0;
}

static int pb_skip(struct pb *b, int wt)
{
	uint64_t v;
	struct pb sub;
	switch (wt) {
	case 0: return pb_varint(b, &v);
	case 1: if (b->end - b->p < 8) return -1; b->p += 8; return 0;
	case 2: return pb_bytes(b, &sub);
	case 5: if (b->end - b->p < 4) return -1; b->p += 4; return 0;
	default: return -1;     /* groups (3, 4) and invalid types */
	}
}

/* An int32 field: varint, negative values sign-extended to 64 bits. */
static int pb_int32(struct pb *b, int *out)
{
	uint64_t v;
	if (pb_varint(b, &v))
		return -1;
	*out = (int)(int32_t)(uint32_t)v;
	return 0;
}

static enum dc_status pb_bad(const struct build *b, const char *where)
{
	return dc_fail(DC_EFORMAT, "'%s': not a SentencePiece model (malformed %s)", b->name, where);
}

static enum dc_status spm_piece(struct build *b, struct pb m, int *type)
{
	struct pb s = { NULL, NULL };
	float score = 0;
	*type = 1;
	while (m.p < m.end) {
		uint32_t f;
		int wt;
		if (pb_tag(&m, &f, &wt))
			return pb_bad(b, "piece");
		if (f == 1 && wt == 2) {
			if (pb_bytes(&m, &s))
				return pb_bad(b, "piece");
		} else if (f == 2 && wt == 5) {
			if (m.end - m.p < 4)
				return pb_bad(b, "piece");
			uint32_t u = (uint32_t)m.p[0] | (uint32_t)m.p[1] << 8 | (uint32_t)m.p[2] << 16 |
			             (uint32_t)m.p[3] << 24;
			memcpy(&score, &u, 4);
			m.p += 4;
		} else if (f == 3 && wt == 0) {
			if (pb_int32(&m, type) || *type < 1 || *type > 6)
				return pb_bad(b, "piece type");
		} else if (f <= 3 || pb_skip(&m, wt)) {
			return pb_bad(b, "piece");
		}
	}
	if (!s.p)
		return dc_fail(DC_EFORMAT, "'%s': piece %zu has no text", b->name, b->nv);
	return vocab_add(b, s.p, (size_t)(s.end - s.p), (double)score);
}

static enum dc_status spm_trainer(struct build *b, struct pb m, int *model_type)
{
	while (m.p < m.end) {
		uint32_t f;
		int wt, v;
		if (pb_tag(&m, &f, &wt))
			return pb_bad(b, "trainer_spec");
		int *dst = f == 3 ? model_type : f == 35 ? &b->byte_fallback :
		           f == 42 ? &b->model_eos : f == 43 ? &b->model_pad : NULL;
		if (dst) {
			if (wt != 0 || pb_int32(&m, &v))
				return pb_bad(b, "trainer_spec");
			*dst = v;
		} else if (pb_skip(&m, wt)) {
			return pb_bad(b, "trainer_spec");
		}
	}
	return DC_OK;
}

static enum dc_status spm_normalizer(struct build *b, struct pb m)
{
	while (m.p < m.end) {
		uint32_t f;
		int wt;
		struct pb s;
		if (pb_tag(&m, &f, &wt))
			return pb_bad(b, "normalizer_spec");
		if (f == 2) {
			if (wt != 2 || pb_bytes(&m, &s))
				return pb_bad(b, "normalizer_spec");
			size_t n = (size_t)(s.end - s.p);
			free(b->charsmap);
			b->charsmap = malloc(n ? n : 1);
			if (!b->charsmap)
				return dc_fail(DC_ENOMEM, "'%s': out of memory", b->name);
			if (n)
				memcpy(b->charsmap, s.p, n);
			b->charsmap_len = n;
		} else if (pb_skip(&m, wt)) {
			return pb_bad(b, "normalizer_spec");
		}
	}
	return DC_OK;
}

static enum dc_status spm_parse(struct build *b, const unsigned char *buf, size_t len)
{
	struct pb m = { buf, buf + len };
	int model_type = 1, unk_piece = -1;
	size_t nuser = 0, *user = NULL;  /* user-defined pieces */
	enum dc_status st = DC_OK;
	while (m.p < m.end) {
		uint32_t f;
		int wt;
		struct pb sub;
		if (pb_tag(&m, &f, &wt)) {
			st = pb_bad(b, "field");
			goto out;
		}
		if (f >= 1 && f <= 3) {
			if (wt != 2 || pb_bytes(&m, &sub)) {
				st = pb_bad(b, f == 1 ? "piece" : f == 2 ? "trainer_spec" :
				                                          "normalizer_spec");
				goto out;
			}
			int type;
			if (f == 1) {
				if ((st = spm_piece(b, sub, &type)))
					goto out;
				if (type == 2 && unk_piece < 0)
					unk_piece = (int)b->nv - 1;
				if (type == 4) {        /* user defined: matched before all else */
					if ((nuser & (nuser - 1)) == 0) {
						size_t *u = realloc(user, (nuser ? 2 * nuser : 1) * sizeof *u);
						if (!u) {
							st = dc_fail(DC_ENOMEM, "out of memory");
							goto out;
						}
						user = u;
					}
					user[nuser++] = b->nv - 1;
				}
			} else if (f == 2) {
				if ((st = spm_trainer(b, sub, &model_type)))
					goto out;
			} else if ((st = spm_normalizer(b, sub))) {
				goto out;
			}
		} else if (pb_skip(&m, wt)) {
			st = pb_bad(b, "field");
			goto out;
		}
	}
	if (b->nv == 0) {
		st = dc_fail(DC_EFORMAT, "'%s': not a SentencePiece model (no pieces)", b->name);
		goto out;
	}
	if (model_type != 1) {
		st = dc_fail(DC_EUNSUPPORTED, "'%s': SentencePiece model type %d is not unigram",
		             b->name, model_type);
		goto out;
	}
	for (size_t i = 0; i < nuser && !st; i++) {
		char *p = strdup(b->pool.p + b->voff[user[i]]);
		st = p ? added_add(b, p, (int32_t)user[i], 0, 0, 0, 0) :
		         dc_fail(DC_ENOMEM, "out of memory");
		free(p);
	}
	/* The unknown piece is the one of type UNKNOWN; trainer_spec eos_id defaults to 2. */
	b->model_unk = unk_piece;
	if (b->model_eos == INT_MIN)
		b->model_eos = 2;
out:
	free(user);
	return st;
}

/* ---- tokenizer.json and the config files ------------------------------------------ */

static enum dc_status json_parse(cJSON **root, const char *text, size_t len, const char *name)
{
	const char *end = NULL;
	*root = dc__json_parse(text, len, &end);
	if (!*root) {
		size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		return dc_fail(DC_EFORMAT, "'%s': not valid JSON (near byte %zu)", name, at);
	}
	for (const char *q = end; q && q < text + len; q++)
		if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
			cJSON_Delete(*root);
			*root = NULL;
			return dc_fail(DC_EFORMAT, "'%s': data after the JSON value (byte %zu)", name,
			               (size_t)(q - text));
		}
	if (!cJSON_IsObject(*root)) {
		cJSON_Delete(*root);
		*root = NULL;
		return dc_fail(DC_EFORMAT, "'%s': not a JSON object", name);
	}
	return DC_OK;
}

static const cJSON *jget(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	return cJSON_IsNull(v) ? NULL : v;
}

/* A boolean member: absent or null gives def, another type -1. */
static int jbool(const cJSON *obj, const char *key, int def)
{
	const cJSON *v = jget(obj, key);
	if (!v)
		return def;
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

/* An integral number in [lo, hi]; 0 on success. */
static int jint(const cJSON *v, double lo, double hi, long *out)
{
	if (!cJSON_IsNumber(v))
		return -1;
	double d = v->valuedouble;
	if (!(d >= lo && d <= hi) || d != floor(d))
		return -1;
	*out = (long)d;
	return 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Standard base64, padding optional; NULL on bad input. */
static unsigned char *b64_decode(const char *s, size_t *olen)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '=')
		n--;
	if (strlen(s) - n > 2 || n % 4 == 1)
		return NULL;
	unsigned char *out = malloc(n / 4 * 3 + 3);
	if (!out)
		return NULL;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*olen = o;
	return out;
}

/* The Precompiled normaliser in a normaliser (possibly nested in Sequences). */
static const cJSON *find_precompiled(const cJSON *n, int depth)
{
	if (!cJSON_IsObject(n) || depth > 16)
		return NULL;
	const cJSON *type = jget(n, "type");
	if (cJSON_IsString(type) && strcmp(type->valuestring, "Precompiled") == 0)
		return n;
	const cJSON *list = jget(n, "normalizers"), *it;
	if (cJSON_IsArray(list))
		cJSON_ArrayForEach(it, list) {
			const cJSON *r = find_precompiled(it, depth + 1);
			if (r)
				return r;
		}
	return NULL;
}

/* One added token object {"content", "lstrip", ...} with the given id. */
static enum dc_status json_added(struct build *b, const cJSON *o, long id, size_t idx)
{
	const cJSON *c = jget(o, "content");
	int special = jbool(o, "special", 0);
	int l = jbool(o, "lstrip", 0), r = jbool(o, "rstrip", 0);
	int nz = jbool(o, "normalized", special >= 0 ? !special : 0);
	int sw = jbool(o, "single_word", 0);
	if (!cJSON_IsString(c) || special < 0 || l < 0 || r < 0 || nz < 0 || sw < 0)
		return dc_fail(DC_EFORMAT, "'%s': added token %zu is malformed", b->name, idx);
	return added_add(b, c->valuestring, (int32_t)id, l, r, nz, sw);
}

static enum dc_status json_tokenizer(struct build *b, const cJSON *root)
{
	const cJSON *model = jget(root, "model"), *it;
	enum dc_status st;
	if (!cJSON_IsObject(model))
		return dc_fail(DC_EFORMAT, "'%s': no \"model\" object", b->name);
	const cJSON *type = jget(model, "type");
	if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "Unigram") != 0))
		return dc_fail(DC_EUNSUPPORTED, "'%s': model type '%s' is not Unigram", b->name,
		               cJSON_IsString(type) ? type->valuestring : "?");
	const cJSON *vocab = jget(model, "vocab");
	if (!cJSON_IsArray(vocab))
		return dc_fail(type ? DC_EFORMAT : DC_EUNSUPPORTED, "'%s': model has no Unigram "
		               "\"vocab\" list", b->name);
	cJSON_ArrayForEach(it, vocab) {
		const cJSON *p = cJSON_GetArrayItem(it, 0), *s = cJSON_GetArrayItem(it, 1);
		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsString(p) ||
		    !cJSON_IsNumber(s))
			return dc_fail(DC_EFORMAT, "'%s': vocab entry %zu is not [piece, score]",
			               b->name, b->nv);
		if ((st = vocab_add(b, p->valuestring, strlen(p->valuestring), s->valuedouble)))
			return st;
	}
	if (b->nv == 0)
		return dc_fail(DC_EFORMAT, "'%s': empty vocab", b->name);
	const cJSON *unk = jget(model, "unk_id");
	long v;
	if (unk) {
		if (jint(unk, 0, (double)b->nv - 1, &v))
			return dc_fail(DC_EFORMAT, "'%s': bad model.unk_id", b->name);
		b->model_unk = (int)v;
	}
	int bf = jbool(model, "byte_fallback", 0);
	if (bf < 0)
		return dc_fail(DC_EFORMAT, "'%s': bad model.byte_fallback", b->name);
	b->byte_fallback = bf;

	const cJSON *pre = find_precompiled(jget(root, "normalizer"), 0);
	const cJSON *cm = pre ? jget(pre, "precompiled_charsmap") : NULL;
	if (cm) {
		if (!cJSON_IsString(cm) || !(b->charsmap = b64_decode(cm->valuestring,
		                                                       &b->charsmap_len)))
			return dc_fail(DC_EFORMAT, "'%s': precompiled_charsmap is not base64", b->name);
	}

	const cJSON *added = jget(root, "added_tokens");
	if (added && !cJSON_IsArray(added))
		return dc_fail(DC_EFORMAT, "'%s': \"added_tokens\" is not a list", b->name);
	size_t i = 0;
	cJSON_ArrayForEach(it, added) {
		if (jint(jget(it, "id"), 0, (double)b->nv + SPM_MAX_ADDED, &v))
			return dc_fail(DC_EFORMAT, "'%s': added token %zu has a bad id", b->name, i);
		if ((st = json_added(b, it, v, i)))
			return st;
		i++;
	}
	return DC_OK;
}

/* A token given as "text" or {"content": "text", ...}; NULL if neither. */
static const char *token_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	const cJSON *c = jget(v, "content");
	return cJSON_IsString(c) ? c->valuestring : NULL;
}

static enum dc_status config_name(struct build *b, const cJSON *root, const char *key, char **dst)
{
	const cJSON *v = jget(root, key);
	if (!v)
		return DC_OK;
	const char *s = token_text(v);
	if (!s)
		return dc_fail(DC_EFORMAT, "'%s': bad \"%s\"", b->name, key);
	char *c = strdup(s);
	if (!c)
		return dc_fail(DC_ENOMEM, "out of memory");
	free(*dst);
	*dst = c;
	return DC_OK;
}

static enum dc_status config_specials(struct build *b, const cJSON *list, const char *key)
{
	const cJSON *it;
	if (!list)
		return DC_OK;
	if (!cJSON_IsArray(list) && !cJSON_IsObject(list))
		return dc_fail(DC_EFORMAT, "'%s': bad \"%s\"", b->name, key);
	cJSON_ArrayForEach(it, list) {
		const char *s = token_text(it);
		if (!s)
			return dc_fail(DC_EFORMAT, "'%s': bad entry in \"%s\"", b->name, key);
		if (b->nspecial >= SPM_MAX_ADDED)
			return dc_fail(DC_ELIMIT, "'%s': too many special tokens", b->name);
		char **p = realloc(b->special, (b->nspecial + 1) * sizeof *p);
		if (!p)
			return dc_fail(DC_ENOMEM, "out of memory");
		b->special = p;
		if (!(p[b->nspecial] = strdup(s)))
			return dc_fail(DC_ENOMEM, "out of memory");
		b->nspecial++;
	}
	return DC_OK;
}

/* tokenizer_config.json or special_tokens_map.json */
static enum dc_status json_config(struct build *b, const cJSON *root)
{
	enum dc_status st;
	const cJSON *v, *it;
	long x;
	if ((st = config_name(b, root, "eos_token", &b->eos_name)) ||
	    (st = config_name(b, root, "unk_token", &b->unk_name)) ||
	    (st = config_name(b, root, "pad_token", &b->pad_name)) ||
	    (st = config_specials(b, jget(root, "additional_special_tokens"),
	                          "additional_special_tokens")) ||
	    (st = config_specials(b, jget(root, "extra_special_tokens"), "extra_special_tokens")))
		return st;
	if ((v = jget(root, "extra_ids"))) {
		if (jint(v, 0, SPM_MAX_EXTRA_IDS, &x))
			return dc_fail(DC_EFORMAT, "'%s': bad \"extra_ids\"", b->name);
		b->extra_ids = x;
	}
	/* transformers writes 1e30 for "no limit": keep only plausible lengths */
	if ((v = jget(root, "model_max_length")) && jint(v, 1, INT_MAX, &x) == 0)
		b->max_length = (int)x;
	const cJSON *dec = jget(root, "added_tokens_decoder");
	if (dec && !cJSON_IsObject(dec))
		return dc_fail(DC_EFORMAT, "'%s': bad \"added_tokens_decoder\"", b->name);
	size_t i = 0;
	cJSON_ArrayForEach(it, dec) {
		char *end;
		errno = 0;
		long id = strtol(it->string, &end, 10);
		if (errno || end == it->string || *end || id < 0 || id > (long)b->nv + SPM_MAX_ADDED ||
		    !cJSON_IsObject(it))
			return dc_fail(DC_EFORMAT, "'%s': bad added_tokens_decoder entry %zu", b->name, i);
		if ((st = json_added(b, it, id, i)))
			return st;
		i++;
	}
	return DC_OK;
}

/* ---- building the tables ------------------------------------------------------------ */

static enum dc_status vocab_trie(struct build *b, struct trie *t)
{
	struct tkey *k = malloc((b->nv ? b->nv : 1) * sizeof *k);
	if (!k)
		return dc_fail(DC_ENOMEM, "out of memory");
	for (size_t i = 0; i < b->nv; i++)
		k[i] = (struct tkey){ (const unsigned char *)b->pool.p + b->voff[i], b->vlen[i],
		                      (int32_t)i, (uint32_t)i };
	enum dc_status st = trie_build(t, k, b->nv);
	free(k);
	return st;
}

/* Index of the last added token with content s, -1 if none. */
static long added_find(const struct build *b, const char *s)
{
	for (size_t i = b->na; i-- > 0;)
		if (strcmp(b->pool.p + b->added[i].off, s) == 0)
			return (long)i;
	return -1;
}

/* Id of token s: an added token, else a piece; -1 if neither. */
static long token_id(const struct build *b, const struct trie *vt, const char *s)
{
	long a = added_find(b, s);
	return a >= 0 ? b->added[a].id : trie_get(vt, s, strlen(s));
}

static enum dc_status finalize(struct build *b, struct dc_spm **out)
{
	struct dc_spm *t = calloc(1, sizeof *t);
	struct trie vt = { 0 };
	struct tkey *k = NULL;
	char name[40];
	enum dc_status st;
	if (!t)
		return dc_fail(DC_ENOMEM, "out of memory");

	/* T5's sentinels: <extra_id_0> is the top id, the pieces lack them. */
	long extra = b->extra_ids < 0 ? 100 : b->extra_ids;
	unsigned char *missing = calloc((size_t)extra + 1, 1);
	if (!missing) {
		st = dc_fail(DC_ENOMEM, "out of memory");
		goto fail;
	}
	if ((st = vocab_trie(b, &vt)))
		goto fail;
	for (long i = 0; i < extra; i++) {
		snprintf(name, sizeof name, "<extra_id_%ld>", i);
		missing[i] = trie_get(&vt, name, strlen(name)) < 0;
	}
	trie_free(&vt);
	for (long i = extra; i-- > 0;)
		if (missing[i]) {
			snprintf(name, sizeof name, "<extra_id_%ld>", i);
			if ((st = vocab_add(b, name, strlen(name), 0.0)))
				goto fail;
		}
	if ((st = vocab_trie(b, &vt)))
		goto fail;

	/* Special tokens named by the config (or T5's defaults) become added tokens. */
	long next = (long)b->nv;
	for (size_t i = 0; i < b->na; i++)
		if (b->added[i].id >= next)
			next = b->added[i].id + 1;
	const char *eos = b->eos_name ? b->eos_name : "</s>";
	const char *unk = b->unk_name ? b->unk_name : "<unk>";
	const char *pad = b->pad_name ? b->pad_name : "<pad>";
	size_t nnames = 3 + b->nspecial + (size_t)extra;
	for (size_t i = 0; i < nnames; i++) {
		const char *s = i == 0 ? eos : i == 1 ? unk : i == 2 ? pad : NULL;
		if (i >= 3 && i < 3 + b->nspecial)
			s = b->special[i - 3];
		else if (i >= 3) {
			snprintf(name, sizeof name, "<extra_id_%zu>", i - 3 - b->nspecial);
			s = name;
		}
		if (added_find(b, s) >= 0)
			continue;
		long id = trie_get(&vt, s, strlen(s));
		if (id < 0) {
			if (i < 3)
				continue;       /* eos/unk/pad fall back on the model's ids */
			if (next >= (long)b->nv + SPM_MAX_ADDED) {
				st = dc_fail(DC_ELIMIT, "'%s': too many added tokens", b->name);
				goto fail;
			}
			id = next++;
		}
		if ((st = added_add(b, s, (int32_t)id, 0, 0, 0, 0)))
			goto fail;
	}

	long id = token_id(b, &vt, eos);
	if (id < 0 && b->model_eos >= 0 && b->model_eos < (long)b->nv)
		id = b->model_eos;
	if (id < 0) {
		st = dc_fail(DC_EFORMAT, "'%s': no end-of-sequence token '%s'", b->name, eos);
		goto fail;
	}
	t->eos = (int)id;
	id = token_id(b, &vt, unk);
	if (id < 0 && b->model_unk >= 0 && b->model_unk < (long)b->nv)
		id = b->model_unk;
	if (id < 0) {
		st = dc_fail(DC_EFORMAT, "'%s': no unknown-piece token '%s'", b->name, unk);
		goto fail;
	}
	t->unk = (int)id;
	id = token_id(b, &vt, pad);
	if (id < 0 && b->model_pad >= 0 && b->model_pad < (long)b->nv)
		id = b->model_pad;
	t->pad = id < 0 ? -1 : (int)id;

	/* Ids above the pieces that only added tokens have. */
	t->size = (int)next;
	if (t->size > (int)b->nv) {
		t->top = calloc((size_t)t->size - b->nv, sizeof *t->top);
		if (!t->top) {
			st = dc_fail(DC_ENOMEM, "out of memory");
			goto fail;
		}
	}

	/* Added-token tries, raw and normalised; the last of equal contents wins. */
	k = malloc((b->na ? b->na : 1) * sizeof *k);
	if (!k) {
		st = dc_fail(DC_ENOMEM, "out of memory");
		goto fail;
	}
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;
		for (size_t i = 0; i < b->na; i++)
			if (b->added[i].normalized == pass)
				k[n++] = (struct tkey){ (const unsigned char *)b->pool.p + b->added[i].off,
				                        b->added[i].len, (int32_t)i, (uint32_t)i };
		if (n && (st = trie_build(pass ? &t->norm : &t->raw, k, n)))
			goto fail;
	}

	t->byte_fallback = b->byte_fallback != 0;
	for (int c = 0; c < 256; c++) {
		snprintf(name, sizeof name, "<0x%02X>", c);
		t->byte_id[c] = t->byte_fallback ? trie_get(&vt, name, strlen(name)) : -1;
	}
	double min = INFINITY;
	for (size_t i = 0; i < b->nv; i++)
		if (b->score[i] < min)
			min = b->score[i];
	t->unk_score = min - UNK_PENALTY;
	t->max_length = b->max_length;
	if ((st = charsmap_load(t, b->charsmap, b->charsmap_len, b->name)))
		goto fail;

	/* Hand the tables over. */
	t->vocab = vt;
	memset(&vt, 0, sizeof vt);
	t->pool = b->pool.p;
	t->voff = b->voff;
	t->vlen = b->vlen;
	t->score = b->score;
	t->nvocab = (int)b->nv;
	t->added = b->added;
	t->nadded = (int)b->na;
	b->pool.p = NULL;
	b->voff = b->vlen = NULL;
	b->score = NULL;
	b->added = NULL;
	for (int i = 0; i < t->nadded; i++)
		if (t->added[i].id >= t->nvocab)
			t->top[t->added[i].id - t->nvocab] = t->pool + t->added[i].off;
	free(k);
	free(missing);
	*out = t;
	return DC_OK;
fail:
	trie_free(&vt);
	free(k);
	free(missing);
	dc_spm_free(t);
	return st;
}

/* ---- opening --------------------------------------------------------------------- */


/* A spiece.model image or a tokenizer.json text (first non-blank byte '{'). */
static enum dc_status load_model(struct build *b, const char *buf, size_t len)
{
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	if (i == len || buf[i] != '{')
		return spm_parse(b, (const unsigned char *)buf, len);
	cJSON *root;
	enum dc_status st = json_parse(&root, buf, len, b->name);
	if (st)
		return st;
	st = json_tokenizer(b, root);
	cJSON_Delete(root);
	return st;
}

/* An optional config file in dir. */
static enum dc_status load_config(struct build *b, const char *dir, const char *file)
{
	size_t a = strlen(dir), c = strlen(file);
	char *path = malloc(a + c + 2), *text;
	size_t len;
	if (!path)
		return dc_fail(DC_ENOMEM, "out of memory");
	snprintf(path, a + c + 2, "%s/%s", dir, file);
	enum dc_status st = dc_read_file(path, SPM_MAX_FILE, &text, &len);
	if (st == DC_ENOTFOUND) {
		free(path);
		dc_clear_error();
		return DC_OK;
	}
	if (st == DC_OK) {
		cJSON *root;
		const char *name = b->name;
		b->name = path;
		if ((st = json_parse(&root, text, len, path)) == DC_OK) {
			st = json_config(b, root);
			cJSON_Delete(root);
		}
		b->name = name;
		free(text);
	}
	free(path);
	return st;
}

enum dc_status dc_spm_open(struct dc_spm **out, const char *path)
{
	struct stat sb;
	struct build b;
	char *text = NULL, *file = NULL;
	size_t len;
	enum dc_status st;
	if (!out || !path)
		return dc_fail(DC_EINVAL, "dc_spm_open: NULL argument");
	*out = NULL;
	if (stat(path, &sb) != 0)
		return dc_fail(errno == ENOENT || errno == ENOTDIR ? DC_ENOTFOUND : DC_EIO,
		               "cannot open '%s': %s", path, strerror(errno));
	int dir = S_ISDIR(sb.st_mode);
	if (dir) {
		size_t n = strlen(path) + 20;
		if (!(file = malloc(n)))
			return dc_fail(DC_ENOMEM, "out of memory");
		snprintf(file, n, "%s/spiece.model", path);
		if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode))
			snprintf(file, n, "%s/tokenizer.json", path);
		if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			free(file);
			return dc_fail(DC_ENOTFOUND, "'%s' holds no spiece.model or tokenizer.json",
			               path);
		}
	}
	const char *model = dir ? file : path;
	build_init(&b, model);
	if ((st = dc_read_file(model, SPM_MAX_FILE, &text, &len)) == DC_OK &&
	    (st = load_model(&b, text, len)) == DC_OK && dir &&
	    (st = load_config(&b, path, "tokenizer_config.json")) == DC_OK)
		st = load_config(&b, path, "special_tokens_map.json");
	if (st == DC_OK)
		st = finalize(&b, out);
	build_release(&b);
	free(text);
	free(file);
	return st;
}

enum dc_status dc_spm_open_memory(struct dc_spm **out, const void *buf, size_t len)
{
	struct build b;
	if (!out || (!buf && len))
		return dc_fail(DC_EINVAL, "dc_spm_open_memory: NULL argument");
	*out = NULL;
	if (len > SPM_MAX_FILE)
		return dc_fail(DC_ELIMIT, "tokenizer image larger than %u bytes", SPM_MAX_FILE);
	char *copy = malloc(len + 1);        /* NUL-terminated for cJSON */
	if (!copy)
		return dc_fail(DC_ENOMEM, "out of memory");
	if (len)
		memcpy(copy, buf, len);
	copy[len] = 0;
	build_init(&b, "memory image");
	enum dc_status st = load_model(&b, copy, len);
	if (st == DC_OK)
		st = finalize(&b, out);
	build_release(&b);
	free(copy);
	return st;
}

void dc_spm_free(struct dc_spm *t)
{
	if (!t)
		return;
	free(t->pool);
	free(t->voff);
	free(t->vlen);
	free(t->score);
	trie_free(&t->vocab);
	free(t->added);
	trie_free(&t->raw);
	trie_free(&t->norm);
	free(t->top);
	free(t->units);
	free(t->repl);
	free(t);
}

int dc_spm_size(const struct dc_spm *t) { return t->size; }
int dc_spm_pad_id(const struct dc_spm *t) { return t->pad; }
int dc_spm_eos_id(const struct dc_spm *t) { return t->eos; }
int dc_spm_unk_id(const struct dc_spm *t) { return t->unk; }
int dc_spm_max_length(const struct dc_spm *t) { return t->max_length; }

const char *dc_spm_piece(const struct dc_spm *t, int id)
{
	if (!t || id < 0 || id >= t->size)
		return NULL;
	return id < t->nvocab ? t->pool + t->voff[id] : t->top[id - t->nvocab];
}

/* ---- encoding ------------------------------------------------------------------ */

struct enc {
	const struct dc_spm *t;
	int32_t *ids;
	size_t cap, count;            /* room for cap ids; count produced so far */
	struct sbuf norm, word;
	double *best;                 /* Viterbi: best score of a path ending at byte i */
	int32_t *from, *nid, *path;   /* its last node: start byte, id; the path's ends */
	size_t vcap;
	int oom;
};

static inline void emit(struct enc *e, int32_t id)
{
	if (e->count < e->cap)
		e->ids[e->count] = id;
	e->count++;
}

/* A fused run of unknown characters: the piece if it is one, bytes, else <unk>. */
static void emit_unknown(struct enc *e, const unsigned char *s, size_t n)
{
	const struct dc_spm *t = e->t;
	int32_t id = trie_get(&t->vocab, s, n);
	if (id >= 0) {
		emit(e, id);
		return;
	}
	if (t->byte_fallback) {
		size_t i = 0;
		while (i < n && t->byte_id[s[i]] >= 0)
			i++;
		if (i == n) {
			for (i = 0; i < n; i++)
				emit(e, t->byte_id[s[i]]);
			return;
		}
	}
	emit(e, t->unk);
}

/* Segment one pre-token w[0..m) (valid UTF-8) and emit its ids. */
static void viterbi(struct enc *e, const unsigned char *w, size_t m)
{
	const struct dc_spm *t = e->t;
	if (m >= INT32_MAX) {
		e->oom = 1;
		return;
	}
	if (m + 1 > e->vcap) {
		size_t cap = m + 1 > 2 * e->vcap ? m + 1 : 2 * e->vcap;
		double *b = realloc(e->best, cap * sizeof *b);
		if (b)
			e->best = b;
		int32_t *f = realloc(e->from, cap * sizeof *f);
		if (f)
			e->from = f;
		int32_t *d = realloc(e->nid, cap * sizeof *d);
		if (d)
			e->nid = d;
		int32_t *p = realloc(e->path, cap * sizeof *p);
		if (p)
			e->path = p;
		if (!b || !f || !d || !p) {
			e->oom = 1;
			return;
		}
		e->vcap = cap;
	}
	double *best = e->best;
	int32_t *from = e->from, *nid = e->nid;
	best[0] = 0;
	from[0] = 0;
	for (size_t i = 1; i <= m; i++)
		from[i] = -1;
	for (size_t s = 0; s < m;) {
		size_t cl = u8len(w[s]);
		double base = best[s];
		int single = 0;
		uint32_t node = 0;
		for (size_t k = s; k < m; k++) {
			if (!(node = trie_next(&t->vocab, node, w[k])))
				break;
			int32_t v = t->vocab.val[node];
			if (v < 0)
				continue;
			double c = base + t->score[v];
			if (from[k + 1] < 0 || c > best[k + 1]) {
				best[k + 1] = c;
				from[k + 1] = (int32_t)s;
				nid[k + 1] = v;
			}
			if (k + 1 - s == cl)
				single = 1;
		}
		if (!single) {
			double c = base + t->unk_score;
			if (from[s + cl] < 0 || c > best[s + cl]) {
				best[s + cl] = c;
				from[s + cl] = (int32_t)s;
				nid[s + cl] = t->unk;
			}
		}
		s += cl;
	}
	size_t np = 0;
	for (size_t end = m; end > 0; end = (size_t)from[end])
		e->path[np++] = (int32_t)end;
	size_t run = 0, run_end = 0;
	int in_run = 0;
	while (np-- > 0) {
		size_t end = (size_t)e->path[np], start = (size_t)from[end];
		if (nid[end] == t->unk) {
			if (!in_run)
				run = start;
			in_run = 1;
			run_end = end;
			continue;
		}
		if (in_run)
			emit_unknown(e, w + run, run_end - run);
		in_run = 0;
		emit(e, nid[end]);
	}
	if (in_run)
		emit_unknown(e, w + run, run_end - run);
}

/*
 * Normalised text: split at White_Space, "▁" before each word that does not
 * start with one, cut before every further "▁", segment each piece.
 */
static void pretokenize(struct enc *e, const unsigned char *p, size_t n)
{
	size_t i = 0, cl;
	while (i < n && !e->oom) {
		if (is_space_cp(u8dec(p + i, &cl))) {
			i += cl;
			continue;
		}
		size_t ws = i;
		while (i < n && !is_space_cp(u8dec(p + i, &cl)))
			i += cl;
		e->word.n = 0;
		if ((!is_meta(p + ws, i - ws) && sb_put(&e->word, META, 3)) ||
		    sb_put(&e->word, p + ws, i - ws)) {
			e->oom = 1;
			return;
		}
		const unsigned char *w = (const unsigned char *)e->word.p;
		size_t m = e->word.n, a = 0;
		for (size_t k = u8len(w[0]); k < m; k += u8len(w[k]))
			if (is_meta(w + k, m - k)) {
				viterbi(e, w + a, k - a);
				a = k;
			}
		viterbi(e, w + a, m - a);
	}
}

/* \w for single_word tokens, approximated: ASCII alphanumerics, '_', any non-space non-ASCII. */
static int word_char(uint32_t c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		       c == '_';
	return !is_space_cp(c);
}

static size_t prev_char(const unsigned char *s, size_t i)
{
	do
		i--;
	while (i > 0 && (s[i] & 0xc0) == 0x80);
	return i;
}

static void segment(struct enc *e, const unsigned char *s, size_t n, int normalized);

/*
 * Split s[0..n) at added tokens (leftmost, then longest), emitting them;
 * the rest goes on to normalisation (raw text) or pre-tokenisation.
 */
static void split_added(struct enc *e, const unsigned char *s, size_t n, int normalized)
{
	const struct dc_spm *t = e->t;
	const struct trie *tr = normalized ? &t->norm : &t->raw;
	size_t done = 0, i = 0, cl;
	while (i < n && !e->oom) {
		size_t len = 0;
		int32_t a = trie_longest(tr, s + i, n - i, &len);
		if (a < 0) {
			i += u8len(s[i]);
			continue;
		}
		const struct added *tok = &t->added[a];
		size_t start = i, stop = i + len;
		if (tok->single_word &&
		    ((start > 0 && word_char(u8dec(s + prev_char(s, start), &cl))) ||
		     (stop < n && word_char(u8dec(s + stop, &cl))))) {
			i = stop;
			continue;
		}
		if (tok->lstrip)
			while (start > done && is_space_cp(u8dec(s + prev_char(s, start), &cl)))
				start = prev_char(s, start);
		if (tok->rstrip)
			while (stop < n && is_space_cp(u8dec(s + stop, &cl)))
				stop += cl;
		if (done < start)
			segment(e, s + done, start - done, normalized);
		emit(e, tok->id);
		done = i = stop;
	}
	if (done < n)
		segment(e, s + done, n - done, normalized);
}

static void segment(struct enc *e, const unsigned char *s, size_t n, int normalized)
{
	if (normalized) {
		pretokenize(e, s, n);
		return;
	}
	e->norm.n = 0;
	if (sb_put(&e->norm, "", 0) || normalize(e->t, s, n, &e->norm)) {
		e->oom = 1;
		return;
	}
	if (e->t->norm.nnodes)
		split_added(e, (const unsigned char *)e->norm.p, e->norm.n, 1);
	else
		pretokenize(e, (const unsigned char *)e->norm.p, e->norm.n);
}

enum dc_status dc_spm_encode(const struct dc_spm *t, const char *text, size_t len,
                             int32_t *ids, int max_ids, int *n, int *truncated)
{
	if (n)
		*n = 0;
	if (truncated)
		*truncated = 0;
	if (!t || !ids || !n || (!text && len))
		return dc_fail(DC_EINVAL, "dc_spm_encode: NULL argument");
	if (max_ids < 1)
		return dc_fail(DC_EINVAL, "room for %d ids: at least 1 (</s>) is needed", max_ids);
	if (len > (1u << 28))
		return dc_fail(DC_EINVAL, "text of %zu bytes is longer than %u", len, 1u << 28);
	if (!dc_utf8_valid((const unsigned char *)text, len))
		return dc_fail(DC_EINVAL, "text is not valid UTF-8");
	struct enc e = { .t = t, .ids = ids, .cap = (size_t)max_ids - 1 };
	if (len)
		split_added(&e, (const unsigned char *)text, len, 0);
	free(e.norm.p);
	free(e.word.p);
	free(e.best);
	free(e.from);
	free(e.nid);
	free(e.path);
	if (e.oom)
		return dc_fail(DC_ENOMEM, "out of memory encoding %zu bytes of text", len);
	size_t k = e.count < e.cap ? e.count : e.cap;
	ids[k] = t->eos;
	*n = (int)k + 1;
	if (truncated)
		*truncated = e.count > e.cap;
	return DC_OK;
}
