#!/usr/bin/python3
# make_npy.py - writes the .npy golden files in tests/golden/npy/ with NumPy
# itself (numpy.save), so tensor-tool's from-npy/to-npy round trip can be
# checked byte for byte against the reference writer without NumPy at test
# time.  Run from this directory: /usr/bin/python3 make_npy.py
import numpy as np

rng = np.random.default_rng(1)
arrays = {
    "f32-2x3": rng.standard_normal((2, 3)).astype("<f4"),
    "f64-scalar": np.array(3.141592653589793, dtype="<f8"),
    "f16-5": rng.standard_normal(5).astype("<f2"),
    "u8-4x4x3": rng.integers(0, 256, (4, 4, 3)).astype("|u1"),
    "i8-7": np.arange(-3, 4, dtype="|i1"),
    "i16-2x2": np.array([[-32768, 32767], [0, 1]], dtype="<i2"),
    "u16-3": np.array([0, 1, 65535], dtype="<u2"),
    "i32-2x1x2": np.arange(4, dtype="<i4").reshape(2, 1, 2) - 2,
    "u32-2": np.array([0, 4294967295], dtype="<u4"),
    "i64-3": np.array([-(2**63), 0, 2**63 - 1], dtype="<i8"),
    "u64-1": np.array([2**64 - 1], dtype="<u8"),
    "bool-2x2": np.array([[True, False], [False, True]]),
    "f32-empty-0x4": np.zeros((0, 4), dtype="<f4"),
}
for name, a in arrays.items():
    np.save("npy/%s.npy" % name, a)
# A Fortran-order array (must be refused) and a big-endian one.
np.save("npy/bad-fortran.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
np.save("npy/bad-bigendian.npy", np.arange(3, dtype=">f4"))
