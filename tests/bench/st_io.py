"""st_io.py - the benchmark scripts' safetensors reader: the tensors as torch
tensors (F16 and BF16 widened to float32; F64, F32, I64, I32, U8 as they
are), and the file's metadata.

    from st_io import read_safetensors
    tensors, metadata = read_safetensors(path)
"""
import json
import struct

import numpy as np
import torch

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
           "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        buf = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        if v["dtype"] not in _DTYPES:
            raise ValueError("%s: tensor %s has the unsupported dtype %s" % (path, k, v["dtype"]))
        b, e = v["data_offsets"]
        a = np.frombuffer(buf[b:e], dtype=_DTYPES[v["dtype"]]).reshape(v["shape"])
        if v["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        elif v["dtype"] == "F16":
            a = a.astype(np.float32)
        out[k] = torch.from_numpy(a.copy())
    return out, hdr.get("__metadata__", {})
