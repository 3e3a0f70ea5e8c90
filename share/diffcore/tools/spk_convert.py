#!/usr/bin/python3
"""spk_convert.py - speaker-embedding checkpoints -> diffcore model folders.

A diffcore speaker model is a folder with config.json and
embedding_model.safetensors whose tensor names are exactly the reference
module's state_dict keys (see lib/speech/spk.h).  Two sources:

  spk_convert.py speechbrain SRC OUT [--dtype F32|F16|BF16] [--frontend speechbrain|kaldi]
      SRC is a SpeechBrain pretrained folder (speechbrain/spkrec-ecapa-voxceleb,
      spkrec-xvect-voxceleb, or a recipe's save folder): hyperparams.yaml plus
      embedding_model.ckpt (a torch pickle of the embedding model's
      state_dict).  The architecture (ECAPA_TDNN or Xvector) and its arguments
      are read from the `embedding_model: !new:...` entry of hyperparams.yaml
      (constructor defaults for absent ones) and checked against the tensor
      shapes; the front end from `compute_features` (Fbank n_mels,
      sample_rate) and `mean_var_norm` (sentence mean normalisation).

  spk_convert.py sugar CKPT OUT [--subnet-bn FILE] [--subnet SPEC] [--prune] [--dtype ...]
      CKPT is a mechanicalsea/sugar EfficientTDNN supernet checkpoint
      (DynamicTDNN, e.g. tdnn8m2g's depth/depth.torchparams): a torch pickle
      of a state_dict, optionally under 'state_dict', with keys possibly
      prefixed 'module.__S__.' (WrappedModel/SpeakerModel); loss and
      transform keys are dropped.  The sub-network is given by
        --subnet-bn FILE  sugar's calibrated-BN file ({'subnet': (depth,
                          widths, kernels, cat), 'bn': subnet state_dict}):
                          its BatchNorm statistics are written into the
                          supernet tensors at the subnet's channels;
        --subnet SPEC     "depth;w0,w1,..;k0,k1,..;cat", e.g.
                          "3;512,512,512,512;5,3,3,3;1536" (without either,
                          the whole supernet);
      --prune writes only the sub-network's slices (a DynamicTDNN whose
      supernet is the sub-network: smaller file, same embeddings).

Only torch (to unpickle) and json are needed; the safetensors file is
written by hand (u64 LE header length, JSON header padded with spaces to a
multiple of 8, then the tensors in header order).  num_batches_tracked
buffers are dropped.  The input checkpoint is trusted (torch.load unpickles
it): convert only checkpoints you trust.
"""
import argparse
import json
import os
import re
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "F64": torch.float64}
WEIGHTS = "embedding_model.safetensors"


# ---- safetensors writer ------------------------------------------------------

def save_safetensors(path, tensors, dtype="F32"):
    """tensors: {name: torch tensor (float)} -> path, all cast to dtype."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(DTYPES[dtype]).contiguous().cpu()
        raw = t.view(torch.int16).numpy().tobytes() if dtype == "BF16" else t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def write_folder(out, config, state, dtype="F32"):
    """config dict + state_dict -> out/config.json, out/embedding_model.safetensors."""
    os.makedirs(out, exist_ok=True)
    state = {k: v for k, v in state.items()
             if not k.endswith("num_batches_tracked") and torch.is_floating_point(v)}
    save_safetensors(os.path.join(out, WEIGHTS), state, dtype)
    with open(os.path.join(out, "config.json"), "w") as f:
        f.write(_json_lines(config) + "\n")


def _json_lines(obj, indent=""):
    """JSON with one object key per line and compact arrays."""
    if not isinstance(obj, dict):
        return json.dumps(obj)
    inner = indent + "  "
    items = ["%s%s: %s" % (inner, json.dumps(k), _json_lines(v, inner)) for k, v in obj.items()]
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


# ---- SpeechBrain --------------------------------------------------------------

def _yaml_load(text):
    """hyperparams.yaml (HyperPyYAML) -> plain dict: !new:/!name:/!apply: tags
    become {'__tag__': tag, ...args}, !ref <x> is resolved at the top level."""
    import yaml

    class L(yaml.SafeLoader):
        pass

    def tagged(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            d = loader.construct_mapping(node, deep=True)
        elif isinstance(node, yaml.SequenceNode):
            d = {"__args__": loader.construct_sequence(node, deep=True)}
        else:
            d = {"__value__": loader.construct_scalar(node)}
        d["__tag__"] = suffix
        return d

    def ref(loader, node):
        return {"__ref__": loader.construct_scalar(node)}

    L.add_constructor("!ref", ref)
    L.add_multi_constructor("!", tagged)
    top = yaml.load(text, Loader=L) or {}

    def resolve(v, depth=0):
        if depth > 20:
            raise ValueError("hyperparams.yaml: !ref cycle")
        if isinstance(v, dict) and "__ref__" in v:
            m = re.fullmatch(r"\s*<([^>]+)>\s*", str(v["__ref__"]))
            if not m:
                return v["__ref__"]          # an expression: left as text
            cur = top
            for part in m.group(1).split("["):
                part = part.rstrip("]").strip("'\"")
                cur = cur[int(part)] if isinstance(cur, list) else cur[part]
            return resolve(cur, depth + 1)
        if isinstance(v, dict):
            return {k: resolve(x, depth + 1) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x, depth + 1) for x in v]
        return v

    return {k: resolve(v) for k, v in top.items()}


ECAPA_DEFAULTS = dict(input_size=None, lin_neurons=192, channels=[512, 512, 512, 512, 1536],
                      kernel_sizes=[5, 3, 3, 3, 1], dilations=[1, 2, 3, 4, 1],
                      attention_channels=128, res2net_scale=8, se_channels=128,
                      global_context=True, groups=[1, 1, 1, 1, 1])
XVECTOR_DEFAULTS = dict(tdnn_blocks=5, tdnn_channels=[512, 512, 512, 512, 1500],
                        tdnn_kernel_sizes=[5, 3, 3, 1, 1], tdnn_dilations=[1, 2, 3, 1, 1],
                        lin_neurons=512, in_channels=40)


def _need(cond, what):
    if not cond:
        raise ValueError(what)


def _shape(sd, key):
    _need(key in sd, "checkpoint has no tensor '%s'" % key)
    return tuple(sd[key].shape)


def speechbrain_config(hp, sd):
    """(config dict) from parsed hyperparams and the state_dict; checks shapes."""
    em = hp.get("embedding_model")
    tag = em.get("__tag__", "") if isinstance(em, dict) else ""
    if not tag:
        tag = "ECAPA_TDNN" if "asp_bn.norm.weight" in sd else "Xvector"
    feats = hp.get("compute_features") if isinstance(hp.get("compute_features"), dict) else {}
    n_mels = feats.get("n_mels", hp.get("n_mels", 40 if "Xvector" in tag else 80))
    sr = feats.get("sample_rate", hp.get("sample_rate", 16000))
    mvn = hp.get("mean_var_norm") if isinstance(hp.get("mean_var_norm"), dict) else {}
    if mvn and mvn.get("std_norm", True):
        print("spk_convert: warning: mean_var_norm has std_norm; only the mean is removed",
              file=sys.stderr)
    if mvn and mvn.get("norm_type", "global") != "sentence":
        print("spk_convert: warning: mean_var_norm norm_type %r; sentence mean used"
              % mvn.get("norm_type", "global"), file=sys.stderr)
    frontend = {"type": "speechbrain", "num_mel_bins": int(n_mels), "sample_rate": float(sr),
                "cmn": True, "dither": 0}
    args = {k: v for k, v in (em or {}).items() if not k.startswith("__")}
    if "ECAPA" in tag:
        a = dict(ECAPA_DEFAULTS)
        a.update(args)
        inp = a["input_size"] if a["input_size"] is not None else n_mels
        g = a["groups"]
        _need(all(x == 1 for x in (g if isinstance(g, list) else [g])), "ECAPA groups != 1 unsupported")
        ch, ks, dl = list(a["channels"]), list(a["kernel_sizes"]), list(a["dilations"])
        _need(len(ch) == len(ks) == len(dl) and len(ch) >= 3, "ECAPA channels/kernels/dilations lengths")
        _need(_shape(sd, "blocks.0.conv.conv.weight") == (ch[0], inp, ks[0]), "blocks.0 shape vs hyperparams")
        _need(_shape(sd, "fc.conv.weight") == (a["lin_neurons"], 2 * ch[-1], 1), "fc shape vs hyperparams")
        cfg = {"arch": "ecapa", "in_channels": int(inp), "lin_neurons": int(a["lin_neurons"]),
               "channels": ch, "kernel_sizes": ks, "dilations": dl,
               "attention_channels": int(a["attention_channels"]),
               "res2net_scale": int(a["res2net_scale"]), "se_channels": int(a["se_channels"]),
               "global_context": bool(a["global_context"])}
    elif "Xvector" in tag:
        a = dict(XVECTOR_DEFAULTS)
        a.update(args)
        act = a.get("activation")
        if act is not None:
            name = act.get("__tag__", "") + str(act.get("__value__", "")) if isinstance(act, dict) else str(act)
            _need("LeakyReLU" in name, "Xvector activation %r unsupported (LeakyReLU only)" % name)
        n = int(a["tdnn_blocks"])
        ch, ks, dl = (list(a["tdnn_channels"])[:n], list(a["tdnn_kernel_sizes"])[:n],
                      list(a["tdnn_dilations"])[:n])
        _need(_shape(sd, "blocks.0.conv.weight") == (ch[0], a["in_channels"], ks[0]), "blocks.0 shape vs hyperparams")
        _need(_shape(sd, "blocks.%d.w.weight" % (3 * n + 1)) == (a["lin_neurons"], 2 * ch[-1]),
              "embedding linear shape vs hyperparams")
        cfg = {"arch": "xvector", "in_channels": int(a["in_channels"]),
               "lin_neurons": int(a["lin_neurons"]), "channels": ch, "kernel_sizes": ks,
               "dilations": dl}
    else:
        raise ValueError("embedding_model %r: not ECAPA_TDNN or Xvector" % tag)
    cfg["frontend"] = frontend
    return cfg


def _strip(sd, prefixes):
    out = {}
    for k, v in sd.items():
        for p in prefixes:
            if k.startswith(p):
                k = k[len(p):]
                break
        out[k] = v
    return out


def convert_speechbrain(src, out, dtype="F32", frontend=None):
    hp_path = os.path.join(src, "hyperparams.yaml")
    hp = _yaml_load(open(hp_path).read()) if os.path.exists(hp_path) else {}
    sd = torch.load(os.path.join(src, "embedding_model.ckpt"), map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    sd = _strip(sd, ["module.", "embedding_model."])
    cfg = speechbrain_config(hp, sd)
    if frontend == "kaldi":
        cfg["frontend"]["type"] = "kaldi"
    write_folder(out, cfg, sd, dtype)
    return cfg


# ---- sugar EfficientTDNN --------------------------------------------------------

def _kernel_of(sd, key):
    return _shape(sd, key)[2]


def sugar_supernet(sd):
    """Supernet dimensions from a DynamicTDNN state_dict."""
    nb = 0
    while "blocks.%d.first_conv.conv.conv.weight" % nb in sd:
        nb += 1
    _need(nb >= 1, "no blocks.0.first_conv.conv.conv.weight: not a DynamicTDNN state_dict")
    c0, inp, k0 = _shape(sd, "layer1.conv.conv.weight")
    ch = [c0] + [_shape(sd, "blocks.%d.first_conv.conv.conv.weight" % i)[0] for i in range(nb)]
    ks = [k0] + [_kernel_of(sd, "blocks.%d.resconv.convs.0.conv.conv.weight" % i) for i in range(nb)]
    cat = _shape(sd, "catconv.conv.weight")[0]
    att = _shape(sd, "pooling.linear1.conv.weight")[0]
    emb = _shape(sd, "linear.linear.weight")[0]
    nconv = 0
    while "blocks.0.resconv.convs.%d.conv.conv.weight" % nconv in sd:
        nconv += 1
    scale = nconv + 1 if nconv > 1 else 1
    return dict(in_channels=inp, lin_neurons=emb, channels=ch + [cat], kernel_sizes=ks + [1],
                attention_channels=att, res2net_scale=scale)


def parse_subnet(spec):
    parts = spec.split(";")
    _need(len(parts) == 4, "--subnet wants 'depth;w0,..;k0,..;cat'")
    d = int(parts[0])
    w = [int(x) for x in parts[1].split(",")]
    k = [int(x) for x in parts[2].split(",")]
    return d, w, k, int(parts[3])


def _sugar_indices(sup, sub):
    """{bn/weight key prefix: LongTensor of supernet indices} as sugar's clone selects."""
    depth, widths, kernels, cat = sub
    scale = sup["res2net_scale"]
    catf = sup["channels"][-1]
    ar = torch.arange
    idx = {"layer1.bn.bn": ar(widths[0])}
    for i in range(depth):
        mf = sup["channels"][1 + i]
        w = widths[1 + i] // scale
        mid = ar(mf).view(scale, -1)[:, :w].flatten()
        idx["blocks.%d.first_conv.bn.bn" % i] = mid
        for j in range(scale - 1 if scale > 1 else 1):
            idx["blocks.%d.resconv.convs.%d.bn.bn" % (i, j)] = ar(w)
        idx["blocks.%d.last_conv.bn.bn" % i] = ar(widths[0])
    idx["bnpool.bn"] = ar(catf * 2).view(2, -1)[:, :cat].flatten()
    idx["bnembed"] = ar(sup["lin_neurons"])
    return idx


def _sub_key(k):
    """supernet BN key -> the key in sugar's cloned subnet state_dict."""
    return k.replace(".bn.bn.", ".bn.").replace("bnpool.bn.", "bnpool.")


def convert_sugar(ckpt, out, subnet=None, subnet_bn=None, prune=False, dtype="F32",
                  frontend="kaldi"):
    sd = torch.load(ckpt, map_location="cpu") if isinstance(ckpt, str) else ckpt
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    keep = {}
    for k, v in sd.items():
        if k.startswith("module."):
            k = k[len("module."):]
        if k.startswith("__S__."):
            k = k[len("__S__."):]
        elif k.startswith("__L__.") or k.startswith("__T__."):
            continue
        keep[k] = v
    sd = keep
    sup = sugar_supernet(sd)
    bn = None
    if subnet_bn is not None:
        info = torch.load(subnet_bn, map_location="cpu") if isinstance(subnet_bn, str) else subnet_bn
        d, w, k, c = info["subnet"]
        subnet = (int(d), [int(x) for x in w], [int(x) for x in k], int(c))
        bn = info["bn"]
    nb = len(sup["channels"]) - 2
    if subnet is None:
        subnet = (nb, sup["channels"][:-1], sup["kernel_sizes"][:-1], sup["channels"][-1])
    depth, widths, kernels, cat = subnet
    _need(1 <= depth <= nb and len(widths) == depth + 1 and len(kernels) == depth + 1,
          "subnet %r does not fit the supernet (%d blocks)" % (subnet, nb))
    if bn is not None:
        sd = {k: v.clone() for k, v in sd.items()}
        for pre, ix in _sugar_indices(sup, subnet).items():
            for leaf in ("weight", "bias", "running_mean", "running_var"):
                sk = _sub_key(pre + "." + leaf)
                if sk in bn:
                    _need(bn[sk].numel() == ix.numel(), "subnet BN %s has %d values, the subnet needs %d"
                          % (sk, bn[sk].numel(), ix.numel()))
                    sd[pre + "." + leaf][ix] = bn[sk].to(sd[pre + "." + leaf].dtype)
    if prune:
        sd, sup = _sugar_prune(sd, sup, subnet)
        depth, widths, kernels, cat = subnet
    cfg = {"arch": "etdnn", "in_channels": sup["in_channels"], "lin_neurons": sup["lin_neurons"],
           "channels": sup["channels"], "kernel_sizes": sup["kernel_sizes"],
           "attention_channels": sup["attention_channels"], "res2net_scale": sup["res2net_scale"],
           "depth": depth, "widths": list(widths), "kernels": list(kernels), "cat_channels": cat,
           "frontend": {"type": frontend, "num_mel_bins": sup["in_channels"], "sample_rate": 16000.0,
                        "cmn": True, "dither": 0}}
    write_folder(out, cfg, sd, dtype)
    return cfg


def _kernel_reduce(w, k, sd, pre):
    """sugar DynamicConv1d.weight: centre taps through k75, k53, k31."""
    K = w.shape[2]
    if K > 5 and k < 7:
        w = torch.matmul(w[:, :, 1:-1], sd[pre + ".k75"])
    if K > 3 and k < 5:
        w = torch.matmul(w[:, :, 1:-1], sd[pre + ".k53"])
    if K > 1 and k < 3:
        w = torch.matmul(w[:, :, 1:-1], sd[pre + ".k31"])
    return w


def _sugar_prune(sd, sup, subnet):
    """A DynamicTDNN state_dict whose full size is the subnet (keys unchanged)."""
    depth, widths, kernels, cat = subnet
    scale = sup["res2net_scale"]
    c0 = widths[0]
    new = {}

    def bn(pre, ix):
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            new[pre + "." + leaf] = sd[pre + "." + leaf][ix].clone()

    ar = torch.arange
    w = sd["layer1.conv.conv.weight"][:c0]
    new["layer1.conv.conv.weight"] = _kernel_reduce(w, kernels[0], sd, "layer1.conv").contiguous()
    bn("layer1.bn.bn", ar(c0))
    for i in range(depth):
        p = "blocks.%d." % i
        mf = sup["channels"][1 + i]
        wd = widths[1 + i] // scale
        mid = ar(mf).view(scale, -1)[:, :wd].flatten()
        new[p + "first_conv.conv.conv.weight"] = sd[p + "first_conv.conv.conv.weight"][mid][:, :c0].clone()
        bn(p + "first_conv.bn.bn", mid)
        j = 0
        while p + "resconv.convs.%d.conv.conv.weight" % j in sd:
            q = p + "resconv.convs.%d." % j
            cw = sd[q + "conv.conv.weight"][:wd, :wd]
            new[q + "conv.conv.weight"] = _kernel_reduce(cw, kernels[1 + i], sd, q + "conv").contiguous()
            bn(q + "bn.bn", ar(wd))
            j += 1
        new[p + "last_conv.conv.conv.weight"] = sd[p + "last_conv.conv.conv.weight"][:c0][:, mid].clone()
        bn(p + "last_conv.bn.bn", ar(c0))
        r = c0 // 4
        new[p + "se.reduce.linear.weight"] = sd[p + "se.reduce.linear.weight"][:r, :c0].clone()
        new[p + "se.reduce.linear.bias"] = sd[p + "se.reduce.linear.bias"][:r].clone()
        new[p + "se.expand.linear.weight"] = sd[p + "se.expand.linear.weight"][:c0, :r].clone()
        new[p + "se.expand.linear.bias"] = sd[p + "se.expand.linear.bias"][:c0].clone()
    nb = len(sup["channels"]) - 2
    cat_ix = ar(sup["channels"][0] * nb).view(nb, -1)[:depth, :c0].flatten()
    new["catconv.conv.weight"] = sd["catconv.conv.weight"][:cat][:, cat_ix].clone()
    a = sup["attention_channels"]
    new["pooling.linear1.conv.weight"] = sd["pooling.linear1.conv.weight"][:a, :cat].clone()
    new["pooling.linear2.conv.weight"] = sd["pooling.linear2.conv.weight"][:cat, :a].clone()
    bp = ar(sup["channels"][-1] * 2).view(2, -1)[:, :cat].flatten()
    bn("bnpool.bn", bp)
    new["linear.linear.weight"] = sd["linear.linear.weight"][:, bp].clone()
    new["linear.linear.bias"] = sd["linear.linear.bias"].clone()
    for leaf in ("weight", "bias", "running_mean", "running_var"):
        new["bnembed." + leaf] = sd["bnembed." + leaf].clone()
    sup2 = dict(sup)
    sup2["channels"] = list(widths) + [cat]
    sup2["kernel_sizes"] = list(kernels) + [1]
    return new, sup2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="kind", required=True)
    a = sub.add_parser("speechbrain", help="SpeechBrain folder -> diffcore folder")
    a.add_argument("src")
    a.add_argument("out")
    a.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    a.add_argument("--frontend", default=None, choices=["speechbrain", "kaldi"])
    b = sub.add_parser("sugar", help="sugar EfficientTDNN supernet -> diffcore folder")
    b.add_argument("ckpt")
    b.add_argument("out")
    b.add_argument("--subnet", default=None, help="'depth;w0,w1,..;k0,k1,..;cat'")
    b.add_argument("--subnet-bn", default=None, help="sugar *.bn.tar: subnet + calibrated BN")
    b.add_argument("--prune", action="store_true", help="store only the sub-network")
    b.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    b.add_argument("--frontend", default="kaldi", choices=["speechbrain", "kaldi"])
    o = ap.parse_args(argv)
    try:
        if o.kind == "speechbrain":
            cfg = convert_speechbrain(o.src, o.out, o.dtype, o.frontend)
        else:
            cfg = convert_sugar(o.ckpt, o.out, parse_subnet(o.subnet) if o.subnet else None,
                                o.subnet_bn, o.prune, o.dtype, o.frontend)
    except (ValueError, KeyError, OSError) as e:
        print("spk_convert: %s" % e, file=sys.stderr)
        return 1
    print("spk_convert: wrote %s (%s)" % (o.out, cfg["arch"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
