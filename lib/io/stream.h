/*
 * stream.h - the diffcore tensor stream ("DTS1"), see diffcore-stream(5).
 *
 * A stream is a 64-byte preamble, any number of records and an END record.
 * It is written and read strictly front to back (pipes work; nothing seeks),
 * every length is known before its bytes, every payload sits at a 64-byte
 * aligned stream offset, and every record carries CRC-32s of its header and
 * of its payload.  All integers are little-endian.
 *
 *   PREAMBLE (64 bytes)
 *     0  u8[8]  magic   89 44 54 53 0D 0A 1A 0A   ("\x89DTS\r\n\x1a\n")
 *     8  u32    version 1
 *    12  u32    flags   0 (readers reject unknown bits)
 *    16  u8[48] reserved, zero
 *   RECORD (starts at a 64-aligned offset)
 *     0  u8[4]  tag      "TENS" | "END\0" | ancillary (first byte a-z: skipped)
 *     4  u32    hdr_len  text header bytes incl. padding; (32+hdr_len)%64 == 0
 *     8  u64    data_len payload bytes (TENS: exactly numel * dtype size)
 *    16  u64    index    0, 1, 2, ... (END: number of records before it)
 *    24  u32    hdr_crc  crc32 of bytes [0,24) and the text header
 *    28  u32    reserved 0
 *    32  text header: "key value\n" lines, "ENDHDR\n", then space padding
 *    32+hdr_len  payload (data_len bytes, C order), 64-aligned
 *        trailer: u32 crc32 of the payload, u32 0; zero padding to 64
 *
 * Thread-safety: a reader or writer is used by one thread at a time;
 * distinct objects are independent.
 */
#ifndef DC_STREAM_H
#define DC_STREAM_H

#include <stdio.h>
#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_STREAM_VERSION        1
#define DC_STREAM_PREAMBLE_SIZE  64
#define DC_STREAM_PREFIX_SIZE    32
#define DC_STREAM_ALIGN          64
/* Hard limits, checked before anything is allocated. */
#define DC_STREAM_MAX_HEADER     65504      /* hdr_len; prefix + header <= 64 KiB */
#define DC_STREAM_MAX_NAME       255        /* bytes in name / role */
#define DC_STREAM_MAX_META       1024       /* meta.* entries per record */
#define DC_STREAM_MAX_KEY        128        /* bytes in a metadata key (after "meta.") */
#define DC_STREAM_MAX_VALUE      61440      /* bytes in a metadata value */
#define DC_STREAM_MAX_DIM        (INT64_C(1) << 48)

/*
 * One record.  All strings are NUL-terminated heap copies owned by the
 * record (freed by dc_record_release).  `data` is owned when `owns_data` is
 * set (records returned by dc_stream_read), otherwise it is borrowed from the
 * caller (records built for dc_stream_write).  `role` may be NULL.
 */
struct dc_record {
	char *name;
	char *role;
	enum dc_dtype dtype;
	int rank;
	int64_t shape[DC_MAX_RANK];
	size_t nmeta;
	char **meta_keys;   /* without the "meta." prefix */
	char **meta_vals;
	void *data;         /* 64-byte aligned when owned; NULL in skip mode */
	size_t nbytes;      /* payload bytes == numel * dtype size */
	int owns_data;
	uint64_t index;     /* index read from the stream (reader only) */
	uint64_t offset;    /* stream offset of the payload (reader only) */
};

/* Zero a record (equivalent to `struct dc_record r = {0}`). */
void dc_record_init(struct dc_record *rec);
/* Free everything the record owns and zero it. */
void dc_record_release(struct dc_record *rec);
/* Replace name / role with copies of `s` (role may be NULL). */
enum dc_status dc_record_set_name(struct dc_record *rec, const char *s);
enum dc_status dc_record_set_role(struct dc_record *rec, const char *s);
/* Value of meta key `key` (no "meta." prefix) or NULL. Borrowed pointer. */
const char *dc_record_meta_get(const struct dc_record *rec, const char *key);
/* Add or replace a metadata entry (copies both strings). Validates key and
 * value against the stream rules (DC_EINVAL) and the limits (DC_ELIMIT). */
enum dc_status dc_record_meta_set(struct dc_record *rec, const char *key, const char *value);
/* Remove a metadata entry; no-op if absent. */
void dc_record_meta_unset(struct dc_record *rec, const char *key);
/* Copy name, role and metadata (not data/shape) from src to dst. */
enum dc_status dc_record_copy_info(struct dc_record *dst, const struct dc_record *src);
/*
 * Point the record at a tensor's data (borrowed: the tensor must outlive the
 * write), with its dtype and shape.
 */
void dc_record_set_tensor(struct dc_record *rec, const struct dc_tensor *t);
/*
 * Move the record's payload into `t` (t->owned = rec->owns_data); the record
 * keeps its header fields but no longer refers to the data.
 */
void dc_record_take_tensor(struct dc_record *rec, struct dc_tensor *t);

/* ---- reading ---------------------------------------------------------------- */

struct dc_stream_reader {
	FILE *fp;
	uint64_t offset;        /* stream bytes consumed so far */
	uint64_t next_index;    /* index expected of the next record */
	uint32_t version, flags;
	int skip_payload;       /* set: payloads are CRC-checked, not kept */
	size_t max_payload;     /* 0: no limit; else larger payloads -> DC_ELIMIT */
	int done;               /* END seen, or an error occurred */
	enum dc_status status;  /* DC_EEOF or the error once done */
	char errmsg[512];       /* the error message, repeated by later reads */
	unsigned char *buf;     /* scratch (header text, skip buffer) */
	size_t bufcap;
};

/*
 * Read and check the preamble from `fp` (not owned; never seeked, so pipes
 * work).  Errors: DC_ETRUNC, DC_EFORMAT (bad magic), DC_EUNSUPPORTED
 * (version, flags), DC_EIO.
 */
enum dc_status dc_stream_reader_open(struct dc_stream_reader *r, FILE *fp);
/*
 * Read the next TENS record into `rec` (released first; owned by the caller
 * afterwards).  Ancillary records are skipped.  Returns DC_OK, or DC_EEOF at
 * a valid END record followed by end of file; any other status is an error
 * whose dc_errmsg() names the record ("record 3 ('latents'): payload CRC
 * mismatch").  After an error or DC_EEOF the reader only returns that again.
 * The payload buffer grows as bytes actually arrive, so a lying data_len
 * costs at most about twice the bytes really present.
 */
enum dc_status dc_stream_read(struct dc_stream_reader *r, struct dc_record *rec);
/* Free the reader's scratch (does not close fp). */
void dc_stream_reader_close(struct dc_stream_reader *r);

/* ---- writing ---------------------------------------------------------------- */

struct dc_stream_writer {
	FILE *fp;
	uint64_t offset;
	uint64_t index;         /* records written */
	int finished;
	char *buf;
	size_t bufcap;
};

/* Write the preamble to `fp` (not owned). DC_EIO on write failure. */
enum dc_status dc_stream_writer_open(struct dc_stream_writer *w, FILE *fp);
/*
 * Append `rec` as record number w->index (rec->index is ignored).  The
 * header is written in a canonical order: name, dtype, shape, role, then
 * meta.* keys sorted bytewise.  DC_EINVAL if the record is not valid
 * (no name, nbytes != numel * dtype size, bad strings), DC_ELIMIT if the
 * header would exceed the limits, DC_EIO on a write failure.
 */
enum dc_status dc_stream_write(struct dc_stream_writer *w, const struct dc_record *rec);
/* Write the END record and fflush.  Safe to call once. */
enum dc_status dc_stream_writer_finish(struct dc_stream_writer *w);
/* Free scratch memory (does not close fp, does not write END). */
void dc_stream_writer_close(struct dc_stream_writer *w);

/* Convenience: write a whole tensor as one record. */
enum dc_status dc_stream_write_tensor(struct dc_stream_writer *w, const char *name,
                                      const char *role, const struct dc_tensor *t);

#ifdef __cplusplus
}
#endif
#endif /* DC_STREAM_H */
