#!/usr/bin/python3
# t5_torch.py - the T5 encoder of bench_t5.c in plain PyTorch (1.13, no
# transformers installed): a line-by-line transcription of transformers'
# modeling_t5.py encoder path (T5LayerNorm, T5Attention with
# _relative_position_bucket / compute_bias, T5DenseGatedActDense with
# NewGELUActivation, T5Block, T5Stack), f32, no_grad, eager attention,
# with the same synthetic weights and inputs as dc_t5_new_synthetic /
# bench_t5.c (matrices sin(0.7 i)/sqrt(fan_in), layer norms
# 1 + 0.1 sin(0.7 i), bias table 0.5 sin(0.7 i); vocab 4096; ids
# (7 i + 3) mod 4096, no padding).  T5-XXL layer shape: d_model 4096,
# 64 heads x 64, d_ff 10240.
#   usage: t5_torch.py [-t threads] [-r runs] [-b batch] [--label NAME] [T...]
#          t5_torch.py --golden DIR   (check the transcription against
#                                      tests/golden/t5: enc/ + t5_io.safetensors)
# Prints "RESULT <label> T min_ms median_ms" and "CHECK <label> T mean|out|
# out[0] out[1]" per T.  BENCH_LAYERS overrides the 2 layers.
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn

from st_io import read_safetensors

D, HEADS, DKV, FF, VOCAB, NB, MAXD = 4096, 64, 64, 10240, 4096, 32, 128


class T5LayerNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        if self.weight.dtype in [torch.float16, torch.bfloat16]:
            hidden_states = hidden_states.to(self.weight.dtype)
        return self.weight * hidden_states


class NewGELUActivation(nn.Module):
    def forward(self, input):
        return 0.5 * input * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                               (input + 0.044715 * torch.pow(input, 3.0))))


class T5DenseGatedActDense(nn.Module):
    def __init__(self, d_model, d_ff):
        super().__init__()
        self.wi_0 = nn.Linear(d_model, d_ff, bias=False)
        self.wi_1 = nn.Linear(d_model, d_ff, bias=False)
        self.wo = nn.Linear(d_ff, d_model, bias=False)
        self.act = NewGELUActivation()

    def forward(self, hidden_states):
        hidden_gelu = self.act(self.wi_0(hidden_states))
        hidden_linear = self.wi_1(hidden_states)
        hidden_states = hidden_gelu * hidden_linear
        hidden_states = self.wo(hidden_states)
        return hidden_states


class T5LayerFF(nn.Module):
    def __init__(self, d_model, d_ff, eps):
        super().__init__()
        self.DenseReluDense = T5DenseGatedActDense(d_model, d_ff)
        self.layer_norm = T5LayerNorm(d_model, eps=eps)

    def forward(self, hidden_states):
        forwarded_states = self.layer_norm(hidden_states)
        forwarded_states = self.DenseReluDense(forwarded_states)
        return hidden_states + forwarded_states


class T5Attention(nn.Module):
    def __init__(self, d_model, d_kv, n_heads, nb, maxd, has_relative_attention_bias):
        super().__init__()
        self.has_relative_attention_bias = has_relative_attention_bias
        self.relative_attention_num_buckets = nb
        self.relative_attention_max_distance = maxd
        self.n_heads = n_heads
        self.key_value_proj_dim = d_kv
        self.inner_dim = n_heads * d_kv
        self.q = nn.Linear(d_model, self.inner_dim, bias=False)
        self.k = nn.Linear(d_model, self.inner_dim, bias=False)
        self.v = nn.Linear(d_model, self.inner_dim, bias=False)
        self.o = nn.Linear(self.inner_dim, d_model, bias=False)
        if self.has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(nb, n_heads)

    @staticmethod
    def _relative_position_bucket(relative_position, bidirectional=True, num_buckets=32,
                                  max_distance=128):
        relative_buckets = 0
        if bidirectional:
            num_buckets //= 2
            relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
            relative_position = torch.abs(relative_position)
        else:
            relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
        max_exact = num_buckets // 2
        is_small = relative_position < max_exact
        relative_position_if_large = max_exact + (
            torch.log(relative_position.float() / max_exact)
            / math.log(max_distance / max_exact)
            * (num_buckets - max_exact)
        ).to(torch.long)
        relative_position_if_large = torch.min(
            relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1)
        )
        relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
        return relative_buckets

    def compute_bias(self, query_length, key_length):
        device = self.relative_attention_bias.weight.device
        context_position = torch.arange(query_length, dtype=torch.long, device=device)[:, None]
        memory_position = torch.arange(key_length, dtype=torch.long, device=device)[None, :]
        relative_position = memory_position - context_position
        relative_position_bucket = self._relative_position_bucket(
            relative_position, bidirectional=True,
            num_buckets=self.relative_attention_num_buckets,
            max_distance=self.relative_attention_max_distance)
        values = self.relative_attention_bias(relative_position_bucket)
        values = values.permute([2, 0, 1]).unsqueeze(0)
        return values

    def forward(self, hidden_states, mask=None, position_bias=None):
        batch_size, seq_length = hidden_states.shape[:2]
        query_states = self.q(hidden_states).view(batch_size, -1, self.n_heads,
                                                  self.key_value_proj_dim).transpose(1, 2)
        key_states = self.k(hidden_states).view(batch_size, -1, self.n_heads,
                                                self.key_value_proj_dim).transpose(1, 2)
        value_states = self.v(hidden_states).view(batch_size, -1, self.n_heads,
                                                  self.key_value_proj_dim).transpose(1, 2)
        scores = torch.matmul(query_states, key_states.transpose(3, 2))
        if position_bias is None:
            key_length = key_states.shape[-2]
            position_bias = self.compute_bias(seq_length, key_length)
            if mask is not None:
                position_bias = position_bias + mask[:, :, :, :key_length]
        scores += position_bias
        attn_weights = nn.functional.softmax(scores.float(), dim=-1).type_as(scores)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous()
        attn_output = attn_output.view(batch_size, -1, self.inner_dim)
        attn_output = self.o(attn_output)
        return attn_output, position_bias


class T5LayerSelfAttention(nn.Module):
    def __init__(self, cfg, has_relative_attention_bias):
        super().__init__()
        self.SelfAttention = T5Attention(cfg["d_model"], cfg["d_kv"], cfg["heads"], cfg["nb"],
                                         cfg["maxd"], has_relative_attention_bias)
        self.layer_norm = T5LayerNorm(cfg["d_model"], eps=cfg["eps"])

    def forward(self, hidden_states, attention_mask=None, position_bias=None):
        normed_hidden_states = self.layer_norm(hidden_states)
        attention_output, position_bias = self.SelfAttention(
            normed_hidden_states, mask=attention_mask, position_bias=position_bias)
        return hidden_states + attention_output, position_bias


class T5Block(nn.Module):
    def __init__(self, cfg, has_relative_attention_bias):
        super().__init__()
        self.layer = nn.ModuleList([T5LayerSelfAttention(cfg, has_relative_attention_bias),
                                    T5LayerFF(cfg["d_model"], cfg["d_ff"], cfg["eps"])])

    def forward(self, hidden_states, attention_mask=None, position_bias=None):
        hidden_states, position_bias = self.layer[0](hidden_states, attention_mask, position_bias)
        hidden_states = self.layer[1](hidden_states)
        return hidden_states, position_bias


class T5Encoder(nn.Module):
    """T5EncoderModel: shared embedding + T5Stack (encoder)."""

    def __init__(self, cfg):
        super().__init__()
        self.shared = nn.Embedding(cfg["vocab"], cfg["d_model"])
        self.block = nn.ModuleList([T5Block(cfg, i == 0) for i in range(cfg["layers"])])
        self.final_layer_norm = T5LayerNorm(cfg["d_model"], eps=cfg["eps"])

    def forward(self, input_ids, attention_mask=None):
        hidden_states = self.shared(input_ids)
        mask = None
        if attention_mask is not None:
            mask = attention_mask[:, None, None, :].to(dtype=hidden_states.dtype)
            mask = (1.0 - mask) * torch.finfo(hidden_states.dtype).min
        position_bias = None
        for blk in self.block:
            hidden_states, position_bias = blk(hidden_states, mask, position_bias)
        return self.final_layer_norm(hidden_states)


def synthetic(layers):
    cfg = dict(vocab=VOCAB, d_model=D, d_kv=DKV, heads=HEADS, d_ff=FF, layers=layers, nb=NB,
               maxd=MAXD, eps=1e-6)
    m = T5Encoder(cfg).eval()
    base = torch.sin(torch.arange(max(FF * D, VOCAB * D), dtype=torch.float64) * 0.7).float()
    with torch.no_grad():
        for name, p in m.named_parameters():
            n = p.numel()
            if "layer_norm" in name:
                v = base[:n] * 0.1 + 1.0
            elif "relative_attention_bias" in name:
                v = base[:n] * 0.5
            else:
                sd = torch.tensor(1.0) / torch.sqrt(torch.tensor(float(p.shape[1])))
                v = base[:n] * sd
            p.copy_(v.view(p.shape))
    return m


def golden(d):
    with open(os.path.join(d, "enc", "config.json")) as f:
        c = json.load(f)
    cfg = dict(vocab=c["vocab_size"], d_model=c["d_model"], d_kv=c["d_kv"], heads=c["num_heads"],
               d_ff=c["d_ff"], layers=c["num_layers"], nb=c["relative_attention_num_buckets"],
               maxd=c["relative_attention_max_distance"], eps=c["layer_norm_epsilon"])
    m = T5Encoder(cfg).eval()
    sd = {k.replace("encoder.", ""): v
          for k, v in read_safetensors(os.path.join(d, "enc", "model.safetensors"))[0].items()}
    m.load_state_dict(sd)
    io = read_safetensors(os.path.join(d, "t5_io.safetensors"))[0]
    with torch.no_grad():
        for k, mask in (("a", io["a.mask"]), ("b", None)):
            out = m(io[k + ".ids"], mask)
            ref = io[k + ".out"]
            err = (out - ref).abs().max().item()
            print("GOLDEN %s max abs %.3g (max |ref| %.3g)" % (k, err, ref.abs().max().item()))
            assert err <= 1e-4 * ref.abs().max().item(), "transcription disagrees with golden"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-b", type=int, default=1)
    ap.add_argument("--label", default="torch")
    ap.add_argument("--golden")
    ap.add_argument("tokens", type=int, nargs="*", default=[120])
    a = ap.parse_args()
    torch.set_num_threads(a.t)
    if a.golden:
        golden(a.golden)
        return
    layers = int(os.environ.get("BENCH_LAYERS", "2"))
    t0 = time.perf_counter()
    with torch.no_grad():
        m = synthetic(layers)
        print("# %s: synthetic weights (%d layers) in %.1f s" % (a.label, layers,
              time.perf_counter() - t0), flush=True)
        for T in a.tokens:
            ids = (torch.arange(a.b * T, dtype=torch.long) * 7 + 3) % VOCAB
            ids = ids.view(a.b, T)
            out = m(ids)   # warm-up
            ts = []
            for _ in range(a.r):
                s = time.perf_counter()
                out = m(ids)
                ts.append(time.perf_counter() - s)
            o = out.flatten()
            print("RESULT %s %d %.1f %.1f" % (a.label, T, min(ts) * 1e3,
                                              statistics.median(ts) * 1e3), flush=True)
            print("CHECK %s %d %.6g %.6g %.6g" % (a.label, T, o.abs().mean().item(), o[0].item(),
                                                 o[1].item()), flush=True)
    print("# %s: torch %s, %d threads, OMP_NUM_THREADS=%s" % (
        a.label, torch.__version__, torch.get_num_threads(),
        os.environ.get("OMP_NUM_THREADS", "unset")), flush=True)


if __name__ == "__main__":
    main()
