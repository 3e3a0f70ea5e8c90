#!/usr/bin/env python3
# make_t5tok.py - golden token ids for tests/unit/test_spm.c: transformers'
# T5Tokenizer on t5/prompts.txt (made by make_t5_prompts.py), reading the
# SentencePiece unigram model t5/spiece.model (trained for these tests with
# Debian's spm_train: unigram, 2000 pieces, nmt_nfkc normalisation, pad 0,
# eos 1, unk 2, no bos -- T5's layout) plus T5's 100 <extra_id_N> tokens.
#
# Writes, next to the model (or under $OUT):
#   ids_full.txt   per prompt, one line: the ids of tokenizer(p).input_ids
#                  (no truncation; </s> appended)
#   ids_120.txt    per prompt: tokenizer(p, max_length=120, truncation=True)
#                  .input_ids, as PixArt pipelines call it (before padding)
#   ids_spm.txt    per prompt: sentencepiece's own encode(p) + [1], the
#                  behaviour of transformers 4.x's slow T5Tokenizer
#                  (legacy=True) that PixArt was released with
#   SOURCE         versions of the code that made them
# Run:  MODEL=path/to/spiece.model OUT=dir python3 make_t5tok.py
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import transformers
from transformers import T5Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.environ.get("MODEL") or os.path.join(HERE, "t5", "spiece.model")
OUT = os.environ.get("OUT") or os.path.dirname(MODEL)
PROMPTS = os.environ.get("PROMPTS") or os.path.join(HERE, "t5", "prompts.txt")
os.makedirs(OUT, exist_ok=True)

with open(PROMPTS, encoding="utf-8", newline="") as f:
    prompts = f.read().split("\n")[:-1]

# transformers 5 builds T5Tokenizer from a folder (it converts spiece.model
# itself); a published tokenizer/ folder is used as it is.
src = os.path.dirname(os.path.abspath(MODEL))
if not os.path.exists(os.path.join(src, "tokenizer_config.json")):
    src = tempfile.mkdtemp()
    shutil.copy(MODEL, os.path.join(src, "spiece.model"))
    with open(os.path.join(src, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 100, "model_max_length": 120,
                   "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}, f)
tok = T5Tokenizer.from_pretrained(src)
sp = spm.SentencePieceProcessor(model_file=MODEL)


def dump(name, rows):
    with open(os.path.join(OUT, name), "w") as f:
        for r in rows:
            f.write(" ".join(str(int(i)) for i in r) + "\n")


full = [tok(p).input_ids for p in prompts]
t120 = [tok(p, max_length=120, truncation=True).input_ids for p in prompts]
own = [sp.encode(p) + [1] for p in prompts]
dump("ids_full.txt", full)
dump("ids_120.txt", t120)
dump("ids_spm.txt", own)
diff = sum(a != b for a, b in zip(full, own))
with open(os.path.join(OUT, "SOURCE"), "w") as f:
    f.write(f"transformers {transformers.__version__} T5Tokenizer; sentencepiece {spm.__version__}\n"
            f"{len(prompts)} prompts; {diff} differ between T5Tokenizer and sentencepiece+eos\n")
print(len(prompts), "prompts;", diff, "differ between T5Tokenizer and sentencepiece", file=sys.stderr)
for p, a, b in zip(prompts, full, own):
    if a != b:
        print(repr(p), a[:20], b[:20], file=sys.stderr)
