#!/usr/bin/env python3
# emoji_tokenizer.py - the SentencePiece unigram tokenizer of the default
# text-to-image model, in T5's layout (pad 0, eos 1, unk 2, no bos; 100
# <extra_id_N> sentinels added by the tokenizer config), trained on the
# lower-cased captions of emoji_data.py's set (diffusers lower-cases
# prompts before tokenising).  Deterministic.
# Needs: python3-sentencepiece (Debian 12).
# Run:   DATA=emoji64.npz OUT=dir python3 emoji_tokenizer.py
import json
import os
import sys

import numpy as np
import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emoji_captions import captions  # noqa: E402

DATA = os.environ.get("DATA", "emoji64.npz")
OUT = os.environ.get("OUT", "tokenizer")
VOCAB = int(os.environ.get("VOCAB", "1000"))
os.makedirs(OUT, exist_ok=True)
d = np.load(DATA)
lines = []
for n, k in zip(d["names"], d["keywords"]):
    lines.extend(captions(str(n), str(k)))
corpus = os.path.join(OUT, "corpus.txt")
with open(corpus, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(OUT, "spiece"),
                               vocab_size=VOCAB, model_type="unigram", pad_id=0, eos_id=1, unk_id=2,
                               bos_id=-1, character_coverage=1.0, num_threads=1,
                               minloglevel=2)
os.remove(corpus)
os.remove(os.path.join(OUT, "spiece.vocab"))
with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
    json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 100, "model_max_length": 120,
               "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}, f, indent=1)
print(len(lines), "captions; vocab", VOCAB, "->", OUT, file=sys.stderr)
