#!/usr/bin/env python3
# make_t5.py - golden tensors for tests/unit/test_t5.c: transformers'
# T5EncoderModel (T5 v1.1: RMSNorm, relative position bias shared from
# block 0, gated-GELU (gelu_new), no biases) on a tiny random-weight config.
#
# Writes, under $OUT (default tests/golden/t5):
#   enc/config.json, enc/model.safetensors    save_pretrained, f32
#   enc_bf16/config.json, enc_bf16/model.safetensors   the same weights in bf16
#       (every weight is rounded to bf16 first, so both files hold identical
#       values and share one golden)
#   t5_io.safetensors:
#       a.ids [2,24] I64, a.mask [2,24] I64 (row 1 padded after 13 tokens),
#       a.out [2,24,32] F32 = last_hidden_state
#       b.ids [1,160] I64 (no padding; distances past max_distance 128),
#       b.out [1,160,32] F32
# Config: vocab 2100 (2000 pieces + 100 extra ids), d_model 32, d_kv 8,
# 4 heads (inner 32), d_ff 48, 2 layers, 32 buckets, max distance 128,
# eps 1e-6, feed_forward_proj gated-gelu.  The reference runs in float64.
# Run:  OUT=dir python3 make_t5.py
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import T5Config, T5EncoderModel

OUT = os.environ.get("OUT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "t5")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(5)

cfg = T5Config(vocab_size=2100, d_model=32, d_kv=8, num_heads=4, d_ff=48, num_layers=2,
               num_decoder_layers=2, relative_attention_num_buckets=32,
               relative_attention_max_distance=128, dropout_rate=0.0, layer_norm_epsilon=1e-6,
               feed_forward_proj="gated-gelu", is_encoder_decoder=True, tie_word_embeddings=False,
               pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
m = T5EncoderModel(cfg).eval()
with torch.no_grad():
    for name, p in m.named_parameters():
        if "layer_norm" in name:
            v = 1.0 + 0.3 * torch.randn_like(p)
        elif "relative_attention_bias" in name:
            v = torch.randn_like(p)
        elif "shared" in name or "embed_tokens" in name:
            v = torch.randn_like(p)
        else:
            v = torch.randn_like(p) / p.shape[1] ** 0.5
        p.copy_(v.to(torch.bfloat16).float())

m.save_pretrained(os.path.join(OUT, "enc"), safe_serialization=True)
mb = T5EncoderModel(cfg)
mb.load_state_dict(m.state_dict())
mb.to(torch.bfloat16).save_pretrained(os.path.join(OUT, "enc_bf16"), safe_serialization=True)

md = m.double()
g = torch.Generator().manual_seed(11)
a_ids = torch.randint(3, 2100, (2, 24), generator=g)
a_mask = torch.ones(2, 24, dtype=torch.long)
a_ids[0, 23] = 1
a_ids[1, 12] = 1
a_ids[1, 13:] = 0
a_mask[1, 13:] = 0
b_ids = torch.randint(3, 2100, (1, 160), generator=g)
b_ids[0, -1] = 1
with torch.no_grad():
    a_out = md(input_ids=a_ids, attention_mask=a_mask).last_hidden_state.float()
    b_out = md(input_ids=b_ids).last_hidden_state.float()
save_file({"a.ids": a_ids, "a.mask": a_mask, "a.out": a_out.contiguous(),
           "b.ids": b_ids, "b.out": b_out.contiguous()}, os.path.join(OUT, "t5_io.safetensors"))
with open(os.path.join(OUT, "SOURCE_t5"), "w") as f:
    f.write(f"transformers {transformers.__version__}, torch {torch.__version__}, float64 reference\n")
print("t5 keys:", sorted(k for k in m.state_dict().keys())[:6], "...")
