#!/usr/bin/env python3
# make_pixart.py - golden tensors for tests/unit/test_pixart.c: diffusers'
# PixArtTransformer2DModel on tiny random-weight configs, and a faithful
# torch transcription of PixArt-delta's ControlNet-Transformer (official
# PixArt-alpha diffusion/model/nets/pixart_controlnet.py: ControlT2IDitBlockHalf
# + ControlPixArtMSHalf.forward; there is no core diffusers class).
#
# Writes, under $OUT (default tests/golden/pixart):
#   a/config.json, a/diffusion_pytorch_model.safetensors
#       PixArt-alpha-512-like: no micro-conditions, 2 layers, 2 heads x 8,
#       caption_channels 16, sample_size 8, patch 2, in 4, out 8 (learned sigma)
#   b/config.json, b/diffusion_pytorch_model.safetensors
#       1024-MS-like: micro-conditions (resolution, aspect ratio), 3 layers,
#       3 heads x 8 (inner 24, divisible by 3 for the size embedders),
#       interpolation_scale 2; run on a 8x12 latent, so the 2-D sin-cos
#       position embedding is recomputed for another grid (base_size 4)
#   control_official.safetensors   2 control blocks for model b, official
#       checkpoint key names (controlnet.{i}.copied_block.<PixArtMSBlock>,
#       controlnet.0.before_proj, controlnet.{i}.after_proj)
#   control_diffusers.safetensors  the same weights under the diffusers
#       research-port names (controlnet_blocks.{i}.{before_proj,
#       transformer_block.<BasicTransformerBlock>,after_proj})
#   io.safetensors   inputs and reference outputs (float32):
#       a.latents [2,4,8,8] a.text [2,6,16] a.mask [2,6] a.timestep [1] a.out [2,8,8,8]
#       b.latents [2,4,8,12] b.text [2,5,16] b.mask [2,5] b.timestep [1]
#       b.resolution [2,2] b.aspect [2,1] b.out [2,8,8,12]
#       c.control [2,4,8,12] c.scale [1] c.out [2,8,8,12]  (model b + control)
# Weights are random (std 1/sqrt(fan_in) for matrices, 0.1 for biases, 0.3
# for the scale_shift_tables, non-zero before/after projections), stored as
# float32; the reference runs in float64 from those float32 values.
# Run (diffusers importable):  OUT=dir python3 tests/golden/make_pixart.py
import json
import os

import torch
from safetensors.torch import save_file
from diffusers import PixArtTransformer2DModel
from diffusers.models.attention import BasicTransformerBlock

OUT = os.environ.get("OUT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "pixart")
torch.manual_seed(20261)


def randomize(mod):
    with torch.no_grad():
        for name, p in mod.named_parameters():
            if name.endswith("scale_shift_table"):
                p.copy_(torch.randn_like(p) * 0.3)
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn_like(p) / fan_in ** 0.5)
            else:
                p.copy_(torch.randn_like(p) * 0.1)


def make_model(sub, **cfg):
    m = PixArtTransformer2DModel(**cfg)
    randomize(m)
    m = m.float()
    d = os.path.join(OUT, sub)
    m.save_pretrained(d, safe_serialization=True)
    return m.double().eval()


def block_kwargs(m):
    c = m.config
    return dict(dim=m.inner_dim, num_attention_heads=c.num_attention_heads,
                attention_head_dim=c.attention_head_dim,
                cross_attention_dim=c.cross_attention_dim,
                activation_fn=c.activation_fn, num_embeds_ada_norm=c.num_embeds_ada_norm,
                attention_bias=c.attention_bias, norm_type=c.norm_type,
                norm_elementwise_affine=c.norm_elementwise_affine, norm_eps=c.norm_eps)


class ControlBlock(torch.nn.Module):
    """ControlT2IDitBlockHalf: copied block, before_proj (block 0 only), after_proj."""

    def __init__(self, m, index):
        super().__init__()
        D = m.inner_dim
        self.index = index
        self.copied_block = BasicTransformerBlock(**block_kwargs(m))
        if index == 0:
            self.before_proj = torch.nn.Linear(D, D)
        self.after_proj = torch.nn.Linear(D, D)

    def forward(self, x, c, blockargs):
        if self.index == 0:
            c = self.before_proj(c)
            c = self.copied_block(x + c, **blockargs)
        else:
            c = self.copied_block(c, **blockargs)
        return c, self.after_proj(c)


def control_forward(m, ctrl, x, timestep, text, mask, added, c_lat, scale):
    """ControlPixArtMSHalf.forward on diffusers modules; scale multiplies c_skip
    (1.0 is the official forward; the diffusers port's conditioning scale)."""
    B = x.shape[0]
    p = m.config.patch_size
    gh, gw = x.shape[-2] // p, x.shape[-1] // p
    bias = ((1 - mask.to(x.dtype)) * -10000.0).unsqueeze(1)
    h = m.pos_embed(x)
    c = m.pos_embed(c_lat) if c_lat is not None else None  # frozen base x_embedder + pos
    t6, temb = m.adaln_single(timestep, added, batch_size=B, hidden_dtype=h.dtype)
    y = m.caption_projection(text).view(B, -1, h.shape[-1])
    args = dict(attention_mask=None, encoder_hidden_states=y, encoder_attention_mask=bias,
                timestep=t6)
    blocks = m.transformer_blocks
    h = blocks[0](h, **args)
    n = len(ctrl) if c is not None else 0
    for i in range(1, len(blocks)):
        if i <= n:
            c, skip = ctrl[i - 1](h, c, args)
            h = h + scale * skip
        h = blocks[i](h, **args)
    shift, sc = (m.scale_shift_table[None] + temb[:, None]).chunk(2, dim=1)
    h = m.norm_out(h) * (1 + sc) + shift
    h = m.proj_out(h)
    co = m.out_channels
    h = h.reshape(B, gh, gw, p, p, co)
    h = torch.einsum("nhwpqc->nchpwq", h)
    return h.reshape(B, co, gh * p, gw * p)


def official_block_keys(prefix, sd):
    """diffusers BasicTransformerBlock state dict -> PixArtMSBlock names
    (inverse of scripts/convert_pixart_alpha_to_diffusers.py)."""
    o = {}
    for s in ("weight", "bias"):
        o[prefix + "attn.qkv." + s] = torch.cat([sd["attn1.to_q." + s], sd["attn1.to_k." + s],
                                                 sd["attn1.to_v." + s]], 0)
        o[prefix + "attn.proj." + s] = sd["attn1.to_out.0." + s]
        o[prefix + "cross_attn.q_linear." + s] = sd["attn2.to_q." + s]
        o[prefix + "cross_attn.kv_linear." + s] = torch.cat([sd["attn2.to_k." + s],
                                                             sd["attn2.to_v." + s]], 0)
        o[prefix + "cross_attn.proj." + s] = sd["attn2.to_out.0." + s]
        o[prefix + "mlp.fc1." + s] = sd["ff.net.0.proj." + s]
        o[prefix + "mlp.fc2." + s] = sd["ff.net.2." + s]
    o[prefix + "scale_shift_table"] = sd["scale_shift_table"]
    return o


def f32(t):
    return t.detach().float().contiguous()


def main():
    os.makedirs(OUT, exist_ok=True)
    io = {}
    with torch.no_grad():
        # (a) PixArt-alpha 512-like, no micro-conditions
        ma = make_model("a", sample_size=8, patch_size=2, in_channels=4, out_channels=8,
                        num_layers=2, num_attention_heads=2, attention_head_dim=8,
                        caption_channels=16, cross_attention_dim=16,
                        use_additional_conditions=False)
        x = torch.randn(2, 4, 8, 8).float()
        text = torch.randn(2, 6, 16).float()
        mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]], dtype=torch.float32)
        t = torch.tensor([637.0])
        out = ma(x.double(), encoder_hidden_states=text.double(), timestep=t.double().expand(2),
                 encoder_attention_mask=mask.double(), added_cond_kwargs=None,
                 return_dict=False)[0]
        io.update({"a.latents": x, "a.text": text, "a.mask": mask, "a.timestep": t,
                   "a.out": f32(out)})
        print("a: out", tuple(out.shape), "rms", out.pow(2).mean().sqrt().item())

        # (b) 1024-MS-like, micro-conditions, non-square latent, interpolation_scale 2
        mb = make_model("b", sample_size=8, patch_size=2, in_channels=4, out_channels=8,
                        num_layers=3, num_attention_heads=3, attention_head_dim=8,
                        caption_channels=16, cross_attention_dim=24,
                        use_additional_conditions=True, interpolation_scale=2)
        x = torch.randn(2, 4, 8, 12).float()
        text = torch.randn(2, 5, 16).float()
        mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.float32)
        t = torch.tensor([421.5])
        res = torch.tensor([[64.0, 96.0], [48.0, 80.0]])
        ar = torch.tensor([[64.0 / 96.0], [48.0 / 80.0]]).float()
        added = {"resolution": res.double(), "aspect_ratio": ar.double()}
        out = mb(x.double(), encoder_hidden_states=text.double(), timestep=t.double().expand(2),
                 encoder_attention_mask=mask.double(), added_cond_kwargs=added,
                 return_dict=False)[0]
        io.update({"b.latents": x, "b.text": text, "b.mask": mask, "b.timestep": t,
                   "b.resolution": res, "b.aspect": ar, "b.out": f32(out)})
        print("b: out", tuple(out.shape), "rms", out.pow(2).mean().sqrt().item())
        # the transcription without control reproduces diffusers
        chk = control_forward(mb, [], x.double(), t.double().expand(2), text.double(),
                              mask.double(), added, None, 1.0)
        err = (chk - out).abs().max().item()
        print("transcription vs diffusers (no control): max abs", err)
        assert err < 1e-10

        # (c) ControlNet-Transformer: 2 control blocks on model b
        ctrl = torch.nn.ModuleList([ControlBlock(mb, i) for i in range(2)])
        randomize(ctrl)
        ctrl = ctrl.float().double()
        cl = torch.randn(2, 4, 8, 12).float()
        scale = torch.tensor([0.7])
        out = control_forward(mb, ctrl, x.double(), t.double().expand(2), text.double(),
                              mask.double(), added, cl.double(), 0.7)
        io.update({"c.control": cl, "c.scale": scale, "c.out": f32(out)})
        print("c: out rms", out.pow(2).mean().sqrt().item(),
              "diff from b", (out - mb(x.double(), encoder_hidden_states=text.double(),
                                     timestep=t.double().expand(2),
                                     encoder_attention_mask=mask.double(),
                                     added_cond_kwargs=added, return_dict=False)[0]).abs().max().item())
        off, dif = {}, {}
        for i, blk in enumerate(ctrl):
            sd = {k: f32(v) for k, v in blk.copied_block.state_dict().items()}
            off.update(official_block_keys("controlnet.%d.copied_block." % i, sd))
            for k, v in sd.items():
                dif["controlnet_blocks.%d.transformer_block.%s" % (i, k)] = v
            for proj in ("before_proj", "after_proj"):
                if hasattr(blk, proj):
                    for s in ("weight", "bias"):
                        v = f32(getattr(getattr(blk, proj), s))
                        off["controlnet.%d.%s.%s" % (i, proj, s)] = v
                        dif["controlnet_blocks.%d.%s.%s" % (i, proj, s)] = v
        save_file({k: v.contiguous() for k, v in off.items()},
                  os.path.join(OUT, "control_official.safetensors"))
        save_file({k: v.contiguous() for k, v in dif.items()},
                  os.path.join(OUT, "control_diffusers.safetensors"))
    save_file({k: v.float().contiguous() for k, v in io.items()}, os.path.join(OUT, "io.safetensors"))
    print(json.dumps(sorted(os.listdir(OUT))))


if __name__ == "__main__":
    main()
