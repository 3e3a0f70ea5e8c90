/*
 * npy.h - NumPy .npy files (format versions 1.0, 2.0 and 3.0), C order.
 *
 * Layout: "\x93NUMPY", u8 major, u8 minor, u16 (v1) or u32 (v2, v3)
 * little-endian HEADER_LEN, then HEADER_LEN bytes of a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with
 * spaces and a final '\n' so the data starts 64-byte aligned, then the data.
 *
 * Dtypes (descr <-> diffcore): <f4 F32, <f2 F16, <f8 F64, |i1 I8, |u1 U8,
 * <i2 I16, <u2 U16, <i4 I32, <u4 U32, <i8 I64, <u8 U64, |b1 BOOL, and
 * <V2 BF16: NumPy has no bfloat16, so BF16 is written as a 2-byte opaque
 * void type whose bits are the bfloat16 bits (numpy.load gives dtype 'V2';
 * ml_dtypes users can .view(bfloat16)); on reading, '<V2' and '|V2' mean
 * BF16.  '=' and '|' are accepted as little-endian for 1-byte types and '='
 * for all types (this code only runs little-endian).  Big-endian ('>')
 * arrays, Fortran order, object/pickle and structured dtypes are refused.
 *
 * The writer produces exactly the bytes numpy.save (1.24+) writes for the
 * same array: sorted keys, the 21-digit growth padding, version 1.0.
 *
 * Functions are reentrant; they never seek, so pipes work.
 */
#ifndef DC_NPY_H
#define DC_NPY_H

#include <stdio.h>
#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_NPY_MAX_HEADER 65536   /* header bytes accepted (numpy: 10000 by default) */
#define DC_NPY_MAX_DIM    (INT64_C(1) << 48)

/*
 * Read one array from `fp` into `t` (owned, 64-byte aligned; on failure
 * nothing is left allocated).  Arrays may be concatenated: call again for
 * the next.  Returns DC_OK, DC_EEOF when `fp` is at end of file before the
 * first byte, or DC_EFORMAT / DC_ETRUNC / DC_ELIMIT / DC_EUNSUPPORTED /
 * DC_ENOMEM / DC_EIO with dc_errmsg() saying why.  The data buffer grows as
 * bytes arrive, so a lying shape cannot make it allocate much more than the
 * input holds.
 */
enum dc_status dc_npy_read(FILE *fp, struct dc_tensor *t);
/* Write `t` as a version 1.0 .npy. DC_EIO on write failure. */
enum dc_status dc_npy_write(FILE *fp, const struct dc_tensor *t);
/* The descr string for a dtype ("<f4"), or NULL. */
const char *dc_npy_descr(enum dc_dtype t);

#ifdef __cplusplus
}
#endif
#endif /* DC_NPY_H */
