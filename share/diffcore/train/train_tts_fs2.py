#!/usr/bin/env python3
"""train_tts_fs2.py - tts-synth's default voice, the acoustic model:
FastSpeech 2 trained by sequence-level distillation from festival's HTS
voice cmu_us_slt_arctic_hts (FastSpeech's recipe, with the teacher's exact
phone timings as durations).

  PYTHONPATH=FS2_SRC train_tts_fs2.py PREP_DIR OUT_DIR [--minutes=9]
      [--resume=CKPT] [--batch=32] [--lr=1e-3]

FS2_SRC is a checkout of ming024/FastSpeech2 (its model/, transformer/,
utils/ and text/ packages; it is imported, not copied, so the checkpoint's
key names are ming024's and share/diffcore/tools/fs2_convert.py converts
it).  PREP_DIR is tts_prepare.py's output (meta.npz, mel.u8).

Model (CONFIG below): ming024's FastSpeech 2 at a CPU-friendly size -
hidden 192, 4 + 4 FFT blocks of 2 heads, conv filter 768 with kernels
[3, 1] (FastSpeech's kernel 3), variance predictors 256 wide, 256 pitch/energy bins, PostNet 256
wide (5 x k5), about 8 M parameters (16 MB in F16).  Pitch and energy are
phoneme-level and NOT normalised: the predictors regress F0 in Hz and the
frame energy, so tts-synth --pitch 1.2 multiplies the predicted F0 by 1.2
before it is bucketed (pitch bins are log-spaced over the corpus range,
energy bins linear).  The pitch/energy predictor biases start at the
corpus means and their MSE is divided by the corpus variance.

Training: Adam (0.9, 0.98, eps 1e-9), lr warm-up over 600 steps then
cosine decay to 5% at the time budget, bf16 autocast on CUDA, batches of
utterances of similar length; losses as ming024's model/loss.py (L1 mel
before and after the PostNet, MSE log(d+1), pitch, energy).  Validation:
the last 100 utterances of PREP_DIR.  Writes OUT_DIR/fs2.pt
({'model': state_dict, 'pre': ..., 'mod': ..., 'stats': ..., 'symbols':
..., 'step': ..}) every few minutes and at the end, with the validation
losses in OUT_DIR/fs2_log.txt.
"""
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
import torch

HIDDEN, FILTER = 192, 768


def configs(prep_dir, stats):
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "stats.json"), "w") as f:
        json.dump(stats, f)
    pre = {"path": {"preprocessed_path": d},
           "preprocessing": {"audio": {"sampling_rate": 22050},
                             "stft": {"filter_length": 1024, "hop_length": 256,
                                      "win_length": 1024},
                             "mel": {"n_mel_channels": 80, "mel_fmin": 0, "mel_fmax": 8000},
                             "pitch": {"feature": "phoneme_level", "normalization": False},
                             "energy": {"feature": "phoneme_level", "normalization": False}}}
    mod = {"transformer": {"encoder_layer": 4, "encoder_head": 2, "encoder_hidden": HIDDEN,
                           "decoder_layer": 4, "decoder_head": 2, "decoder_hidden": HIDDEN,
                           "conv_filter_size": FILTER, "conv_kernel_size": [3, 1],
                           "encoder_dropout": 0.2, "decoder_dropout": 0.2},
           "variance_predictor": {"filter_size": 256, "kernel_size": 3, "dropout": 0.5},
           "variance_embedding": {"pitch_quantization": "log", "energy_quantization": "linear",
                                  "n_bins": 256},
           "multi_speaker": False, "max_seq_len": 1000,
           "vocoder": {"model": "HiFi-GAN", "speaker": "LJSpeech"}}
    return pre, mod


def load(prep_dir):
    m = np.load(os.path.join(prep_dir, "meta.npz"))
    mel = np.fromfile(os.path.join(prep_dir, "mel.u8"), np.uint8).reshape(-1, 80)
    lo, hi = float(m["mel_lo"]), float(m["mel_hi"])
    utts, p0, f0 = [], 0, 0
    for n, T in zip(m["n_phones"], m["n_frames"]):
        utts.append(dict(ids=m["ids"][p0:p0 + n].astype(np.int64),
                         dur=m["durations"][p0:p0 + n].astype(np.int64),
                         pitch=m["pitch"][p0:p0 + n], energy=m["energy"][p0:p0 + n],
                         mel=mel[f0:f0 + T]))
        p0 += n
        f0 += T
    return utts, lo, hi, m


def batches(utts, bs, rng):
    order = sorted(range(len(utts)), key=lambda i: len(utts[i]["mel"]) + rng.random() * 40)
    bl = [order[i:i + bs] for i in range(0, len(order), bs)]
    rng.shuffle(bl)
    return bl


def collate(utts, idx, lo, hi, dev):
    B = len(idx)
    L = max(len(utts[i]["ids"]) for i in idx)
    T = max(len(utts[i]["mel"]) for i in idx)
    ids = np.zeros((B, L), np.int64)
    dur = np.zeros((B, L), np.int64)
    pit = np.zeros((B, L), np.float32)
    ene = np.zeros((B, L), np.float32)
    mel = np.zeros((B, T, 80), np.float32)
    sl, ml = [], []
    for b, i in enumerate(idx):
        u = utts[i]
        n, t = len(u["ids"]), len(u["mel"])
        ids[b, :n], dur[b, :n], pit[b, :n], ene[b, :n] = u["ids"], u["dur"], u["pitch"], u["energy"]
        mel[b, :t] = u["mel"].astype(np.float32) * ((hi - lo) / 255) + lo
        sl.append(n)
        ml.append(t)
    t = lambda a: torch.from_numpy(a).to(dev)
    return (t(ids), torch.tensor(sl, device=dev), L, t(mel), torch.tensor(ml, device=dev), T,
            t(pit), t(ene), t(dur))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    prep, out = args
    minutes = float(opts.get("minutes", 9))
    bs = int(opts.get("batch", 32))
    lr_max = float(opts.get("lr", 1e-3))
    os.makedirs(out, exist_ok=True)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    utts, lo, hi, meta = load(prep)
    nv = min(100, len(utts) // 10)
    val, train = utts[-nv:], utts[:-nv]
    P = np.concatenate([u["pitch"] for u in train])
    E = np.concatenate([u["energy"] for u in train])
    P = P[P > 0]
    stats = {"pitch": [float(P.min()) * 0.95, float(P.max()) * 1.05, float(P.mean()), float(P.std())],
             "energy": [float(E.min()), float(E.max()) * 1.05, float(E.mean()), float(E.std())]}
    pre, mod = configs(prep, stats)
    for mod_name in ("matplotlib", "matplotlib.pyplot", "scipy", "scipy.io", "scipy.io.wavfile"):
        try:                      # ming024's utils/tools.py imports them for plotting only
            __import__(mod_name)
        except ImportError:
            import types
            stub = types.ModuleType(mod_name)
            stub.use = lambda *a, **k: None
            sys.modules[mod_name] = stub
    import types
    for d in sys.path:            # ming024's text/__init__ pulls in its cleaners (unidecode,
        if os.path.exists(os.path.join(d or ".", "text", "symbols.py")):  # inflect); only
            pkg = types.ModuleType("text")                                 # symbols is needed
            pkg.__path__ = [os.path.join(d or ".", "text")]
            sys.modules["text"] = pkg
            break
    from model import FastSpeech2
    from transformer import PostNet
    model = FastSpeech2(pre, mod).to(dev)
    model.postnet = PostNet(postnet_embedding_dim=256).to(dev)
    va = model.variance_adaptor
    with torch.no_grad():
        va.pitch_predictor.linear_layer.bias.fill_(stats["pitch"][2])
        va.energy_predictor.linear_layer.bias.fill_(stats["energy"][2])
    step0 = 0
    if "resume" in opts:
        ck = torch.load(opts["resume"], map_location=dev)
        model.load_state_dict(ck["model"])
        step0 = ck["step"]
    nparam = sum(p.numel() for p in model.parameters())
    print("params %d, %d train / %d val utterances, stats %s" % (nparam, len(train), len(val), stats),
          flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr_max, betas=(0.9, 0.98), eps=1e-9)
    if "resume" in opts and "opt" in ck:
        opt.load_state_dict(ck["opt"])
    pv, ev = stats["pitch"][3] ** 2, stats["energy"][3] ** 2
    l1 = torch.nn.L1Loss()

    def losses(bt, train_mode):
        ids, sl, L, mel, ml, T, pit, ene, dur = bt
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=(dev == "cuda")):
            o = model(None, ids, sl, L, mel, ml, T, pit, ene, dur)
        mel_p, post_p, p_p, e_p, logd_p, _, src_m, mel_m = [x for x in o[:8]]
        sm, mm = ~src_m, ~mel_m
        melm = mm.unsqueeze(-1)
        lm = l1(mel_p.float().masked_select(melm), mel.masked_select(melm))
        lp = l1(post_p.float().masked_select(melm), mel.masked_select(melm))
        ld = torch.mean((logd_p.float().masked_select(sm) - torch.log(dur.float() + 1).masked_select(sm)) ** 2)
        lpi = torch.mean((p_p.float().masked_select(sm) - pit.masked_select(sm)) ** 2) / pv
        le = torch.mean((e_p.float().masked_select(sm) - ene.masked_select(sm)) ** 2) / ev
        return lm + lp + ld + lpi + le, (lm.item(), lp.item(), ld.item(), lpi.item(), le.item())

    def save(step):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "pre": pre, "mod": mod,
                    "stats": stats, "symbols": [str(s) for s in meta["symbols"]], "step": step},
                   os.path.join(out, "fs2.pt.tmp"))
        os.replace(os.path.join(out, "fs2.pt.tmp"), os.path.join(out, "fs2.pt"))

    log = open(os.path.join(out, "fs2_log.txt"), "a")
    t0 = time.time()
    budget = minutes * 60
    step = step0
    last_save = t0
    done = False
    while not done:
        for idx in batches(train, bs, rng):
            el = time.time() - t0
            if el > budget:
                done = True
                break
            frac = el / budget
            lr = lr_max * min(1.0, (step - step0 + 1) / 600) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            for g in opt.param_groups:
                g["lr"] = lr
            model.train()
            loss, parts = losses(collate(train, idx, lo, hi, dev), True)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step % 200 == 0:
                model.eval()
                with torch.no_grad():
                    vl = np.mean([losses(collate(val, list(range(i, min(i + 50, nv))), lo, hi, dev),
                                         False)[1] for i in range(0, nv, 50)], axis=0)
                msg = "step %d %.0fs lr %.2e train %s val mel %.4f post %.4f dur %.4f pitch %.4f energy %.4f" % (
                    step, el, lr, " ".join("%.4f" % x for x in parts), *vl)
                print(msg, flush=True)
                log.write(msg + "\n")
                log.flush()
            if time.time() - last_save > 120:
                save(step)
                last_save = time.time()
    save(step)
    print("done: %d steps" % step, flush=True)


if __name__ == "__main__":
    main()
