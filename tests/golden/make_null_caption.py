#!/usr/bin/env python3
# make_null_caption.py - tests/golden/dit/null_caption.safetensors and
# null_caption_bad.safetensors for dit-gen --null-caption on the tiny test
# pipeline (tests/golden/pipe/model, caption channels 32): a random
# y_embedder.y_embedding [120][32] as the original PixArt checkpoints hold
# it ([120][4096] there), and one of the wrong width [120][16].  numpy only.
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def save(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k, a in tensors.items():
        b = a.astype("<f4").tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * (-(8 + len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


rng = np.random.default_rng(120)
save(os.path.join(HERE, "dit", "null_caption.safetensors"),
     {"y_embedder.y_embedding": rng.standard_normal((120, 32)).astype(np.float32) / 32 ** 0.5})
save(os.path.join(HERE, "dit", "null_caption_bad.safetensors"),
     {"y_embedder.y_embedding": rng.standard_normal((120, 16)).astype(np.float32)})
