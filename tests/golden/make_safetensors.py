#!/usr/bin/python3
"""make_safetensors.py - golden safetensors files for tests/unit/test_safetensors.c.

The `safetensors` Python package is not installed here, so this script
writes and reads the format by hand from its published specification
(https://github.com/huggingface/safetensors, README "Format" and
safetensors/src/tensor.rs):

  u64 LE N | N bytes of JSON header, space padded to a multiple of 8 | data
  tensors sorted by dtype alignment descending, then name; compact JSON,
  "__metadata__" first; data_offsets relative to the data buffer.

Values are made with numpy / torch 1.13 (torch for bfloat16).

    /usr/bin/python3 tests/golden/make_safetensors.py          # (re)make the files
    /usr/bin/python3 tests/golden/make_safetensors.py --check F...
        # read F with the strict reader below and print its tensors; used
        # to check that files written by diffcore's writer read back here.

Outputs, under tests/golden/safetensors/:
  golden.safetensors          mixed dtypes + __metadata__ (with a "config" key)
  writer_expect.safetensors   the exact bytes dc_safetensors_write must produce
                              for the entries in test_safetensors.c
  sharded/                    config.json, model.safetensors.index.json and
                              two shards, as transformers lays them out
"""
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "safetensors")

# The reference's Dtype enum order ("increasing alignment").
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
         "I32", "U32", "F32", "F64", "I64", "U64"]
SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
NP = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16,
      "U16": np.uint16, "F16": np.float16, "I32": np.int32, "U32": np.uint32,
      "F32": np.float32, "F64": np.float64, "I64": np.int64, "U64": np.uint64}


def tensor(dtype, shape, values):
    """(dtype, shape, little-endian bytes)"""
    if dtype == "BF16":
        raw = torch.tensor(values, dtype=torch.float32).to(torch.bfloat16)
        raw = raw.view(torch.int16).numpy().astype("<i2").tobytes()
    else:
        raw = np.asarray(values, dtype=NP[dtype]).astype(
            np.dtype(NP[dtype]).newbyteorder("<")).tobytes()
    n = int(np.prod(shape)) if shape else 1
    assert len(raw) == n * SIZE[dtype], (dtype, shape, len(raw))
    return dtype, list(shape), raw


def serialize(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-ORDER.index(kv[1][0]), kv[0]))
    header, off, data = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in items:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        data.append(raw)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(data)


def read(path):
    """Strict reader: returns (metadata, {name: (dtype, shape, bytes)})."""
    buf = open(path, "rb").read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert n <= 100_000_000 and 8 + n <= len(buf), "bad header length"
    hdr = json.loads(buf[8:8 + n].decode("utf-8"))
    assert isinstance(hdr, dict)
    meta = hdr.pop("__metadata__", None)
    assert meta is None or all(isinstance(v, str) for v in meta.values())
    data = buf[8 + n:]
    out, end = {}, 0
    for name, info in sorted(hdr.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        b, e = info["data_offsets"]
        numel = int(np.prod(info["shape"])) if info["shape"] else 1
        assert b == end and e - b == numel * SIZE[info["dtype"]], name
        end = e
        out[name] = (info["dtype"], info["shape"], data[b:e])
    assert end == len(data), "buffer not fully covered"
    return meta, out


def values(dtype, raw):
    if dtype == "BF16":
        t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16)
        return t.float().tolist()
    return np.frombuffer(raw, dtype=np.dtype(NP[dtype]).newbyteorder("<")).tolist()


def golden():
    cfg = {"num_layers": 2, "text_config": {"d_model": 8, "dropout": 0.1},
           "block_out_channels": [32, 64], "act": "gelu", "use_bias": True}
    t = {
        "w.f32": tensor("F32", [2, 3], [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]),
        "w.f16": tensor("F16", [5], [1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08]),
        "w.bf16": tensor("BF16", [2, 2], [1.0, -3.140625, 3.0e38, 0.0078125]),
        "w.f64": tensor("F64", [], [2.718281828459045]),
        "idx.i64": tensor("I64", [3], [-1, 0, 1 << 40]),
        "idx.i32": tensor("I32", [2], [-7, 123456]),
        "b.u8": tensor("U8", [3], [0, 7, 255]),
        "b.i8": tensor("I8", [2], [-128, 127]),
        "mask": tensor("BOOL", [3], [True, False, True]),
        "empty": tensor("F32", [0, 3], []),
    }
    meta = {"format": "pt", "config": json.dumps(cfg)}
    return serialize(t, meta)


def writer_expect():
    # Must match the entries of test_safetensors.c's writer_golden test.
    t = {
        "z.bias": tensor("F32", [2], [0.25, -0.25]),
        "a.weight": tensor("BF16", [2, 2], [1.0, 2.0, -3.0, 0.5]),
        "norm.w\u00e9ight": tensor("F16", [3], [1.0, 0.5, -0.125]),
        "step": tensor("I64", [], [42]),
        "flag": tensor("BOOL", [2], [False, True]),
        "m\"q": tensor("U8", [1], [9]),
    }
    return serialize(t, {"format": "pt", "note": "tab\there\nnl"})


def sharded():
    d = os.path.join(OUT, "sharded")
    os.makedirs(d, exist_ok=True)
    s1 = {"embed.weight": tensor("F32", [3, 2], [1, 2, 3, 4, 5, 6]),
          "layers.0.w": tensor("BF16", [2], [0.5, -1.5])}
    s2 = {"layers.1.w": tensor("F16", [2], [2.0, -0.25]),
          "head.bias": tensor("F32", [1], [9.5])}
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    wm = {}
    total = 0
    for name, part in zip(names, [s1, s2]):
        with open(os.path.join(d, name), "wb") as f:
            f.write(serialize(part, {"format": "pt"}))
        for k, v in part.items():
            wm[k] = name
            total += len(v[2])
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(wm.items()))},
                  f, indent=2)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"model_type": "toy", "hidden_size": 2, "num_hidden_layers": 2}, f, indent=2)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--check":
        for p in sys.argv[2:]:
            meta, ts = read(p)
            print(p, "metadata", meta)
            for name, (dt, shape, raw) in ts.items():
                print(" ", name, dt, shape, values(dt, raw))
        return
    os.makedirs(OUT, exist_ok=True)
    for name, fn in [("golden.safetensors", golden), ("writer_expect.safetensors", writer_expect)]:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(fn())
    sharded()
    for name in ["golden.safetensors", "writer_expect.safetensors"]:
        read(os.path.join(OUT, name))   # self-check


if __name__ == "__main__":
    main()
