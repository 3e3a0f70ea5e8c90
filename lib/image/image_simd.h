/*
 * image_simd.h - private to lib/image: the switch between the vectorised
 * (AVX-512) kernels of canny.c and resize.c and their portable scalar
 * versions.  Both give identical results; the unit test
 * tests/unit/test_image_simd.c sets dc_image_force_scalar to compare them
 * on machines that have AVX-512.  Not part of the public API.
 */
#ifndef DC_IMAGE_SIMD_H
#define DC_IMAGE_SIMD_H

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#define DC_IMAGE_AVX512 1
#else
#define DC_IMAGE_AVX512 0
#endif

/* Nonzero: use the scalar kernels even where AVX-512 code is compiled in. */
extern int dc_image_force_scalar;

#endif /* DC_IMAGE_SIMD_H */
