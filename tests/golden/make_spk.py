#!/usr/bin/python3
"""make_spk.py - small random-weight speaker-embedding models and their
golden embeddings, for tests/unit/test_spk.c and the spk-embed CLI tests.

The models are built with the reference code itself, in eval mode:
  - SpeechBrain's ECAPA_TDNN and Xvector (speechbrain/lobes/models/), from
    the fetched source in .ref/sb (import trick below);
  - mechanicalsea/sugar's DynamicTDNN (sugar/models/dynamictdnn.py,
    EfficientTDNN), from .ref/sugar (`git -C /work/.mirror/mechanicalsea+sugar/repo
    archive HEAD sugar | tar -x -C .ref/sugar`), with its unused imports
    (geatpy, sugar.metrics) stubbed.
Every weight is random (seeded), BatchNorm running statistics included, and
the result is saved with share/diffcore/tools/spk_convert.py (the SpeechBrain
models through a fake SpeechBrain folder: hyperparams.yaml with !new:/!ref
tags + embedding_model.ckpt), so the converter is exercised too.

Outputs (each model folder well under 1 MB):
  tests/data/spk-models/ecapa-tiny/        ECAPA, channels [32,32,32,32,96], kernels
                                           [5,3,3,3,1], dilations [1,2,3,4,1], attention 16,
                                           se 16, scale 4, lin 24, in 80, global context,
                                           F32, SpeechBrain front end (80 mels)
  tests/data/spk-models/ecapa-noglob/      ECAPA without global context, a shortcut conv
                                           (channels [24,32,32,32,64]), MFA kernel 3,
                                           in 40, lin 16, F16 (the kaldi front end)
  tests/data/spk-models/xvector-tiny/      Xvector, channels [32,32,32,32,64], in 24, lin 24,
                                           BF16
  tests/data/spk-models/etdnn-tiny/        DynamicTDNN supernet (in 40, 4 blocks, 64
                                           channels, kernels 5, cat 96, emb 16; k53/k31
                                           randomised) with the sub-network
                                           (3, [48,32,64,16], [3,5,1,3], 72), F16
  tests/data/spk-models/etdnn-tiny-bn/     the same sub-network with its BatchNorm statistics
                                           recalibrated (sugar's *.bn.tar), converted from a
                                           fake WrappedModel checkpoint by the command line
                                           with --subnet-bn --prune (F32)
  tests/golden/spk/spk_golden.safetensors  for each model M and length T:
                                           "M/feats_T" [T][in] (f32 input features) and
                                           "M/emb_T" [dim] (the reference forward in
                                           float64 on the stored weights);
                                           "M/emb32_T": the same forward in float32
                                           "audio/M", "audio/M_8k", "audio/x8k": see
                                           audio_goldens() (tests/data/spk/ clip)
  tests/golden/spk/spk_counts.safetensors  F64 [1]: "M/params" (parameters of the module,
                                           for etdnn of sugar's clone() of the sub-network),
                                           "M/macs_T" (Conv1d/Linear multiply-accumulates
                                           of one forward over T frames, thop's rule)
The SpeechBrain StatisticsPooling (x-vector) adds random noise in [1e-5, 9e-5]
to the mean at every call, training or not; it is switched off here (as in
diffcore, which has no noise) so goldens are deterministic.

    /usr/bin/python3 tests/golden/make_spk.py
"""
import atexit
import os
import shutil
import sys
import tempfile
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
REF = os.path.join(TOP, ".ref")
sys.path.insert(0, os.path.join(TOP, "share", "diffcore", "tools"))
import spk_convert  # noqa: E402

torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler._LRScheduler
pkg = types.ModuleType("speechbrain")
pkg.__path__ = [os.path.join(REF, "sb", "speechbrain")]
sys.modules["speechbrain"] = pkg
from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN  # noqa: E402
from speechbrain.lobes.models.Xvector import Xvector  # noqa: E402
from speechbrain.nnet.pooling import StatisticsPooling  # noqa: E402

for name in ["geatpy"]:
    m = types.ModuleType(name)
    m.Problem = object
    sys.modules[name] = m
sg = types.ModuleType("sugar")
sg.__path__ = [os.path.join(REF, "sugar", "sugar")]
sys.modules["sugar"] = sg
met = types.ModuleType("sugar.metrics")
met.profile = None
sys.modules["sugar.metrics"] = met
sgm = types.ModuleType("sugar.models")
sgm.__path__ = [os.path.join(REF, "sugar", "sugar", "models")]
sys.modules["sugar.models"] = sgm
from sugar.models.dynamictdnn import DynamicTDNN  # noqa: E402

StatisticsPooling._get_gauss_noise = lambda self, shape, device="cpu": torch.zeros(shape, device=device)

MODELS = os.path.join(TOP, "tests", "data", "spk-models")
GOLD = os.path.join(HERE, "spk")
G = torch.Generator().manual_seed(1234)


def randomise(model):
    """Seeded random weights and BatchNorm statistics (in place)."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=G) + 0.5)
            elif name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=G) * 0.3)
            elif "norm" in name.split(".")[-2] or ".bn" in name or name.startswith("bn") \
                    or "asp_bn" in name:
                if name.endswith("weight"):
                    t.copy_(torch.rand(t.shape, generator=G) + 0.5)
                else:
                    t.copy_(torch.randn(t.shape, generator=G) * 0.2)
            elif name.endswith(("k53", "k31", "k75")):
                t.copy_(torch.eye(t.shape[0]) + torch.randn(t.shape, generator=G) * 0.3)
            elif name.endswith("bias"):
                t.copy_(torch.randn(t.shape, generator=G) * 0.2)
            else:
                fan_in = t[0].numel() if t.dim() > 1 else t.numel()
                t.copy_(torch.randn(t.shape, generator=G) * (1.5 / fan_in ** 0.5))
    return model.eval()


def reload_rounded(model, folder):
    """Load the weights as stored (F16/BF16 rounding) back into the module."""
    from make_safetensors import read  # strict reader of the golden scripts
    _, tensors = read(os.path.join(folder, spk_convert.WEIGHTS))
    import numpy as np
    sd = model.state_dict()
    for name, (dtype, shape, raw) in tensors.items():
        if dtype == "BF16":
            v = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16).float()
        elif dtype == "F16":
            v = torch.from_numpy(np.frombuffer(raw, dtype="<f2").astype(np.float32))
        else:
            v = torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy())
        sd[name] = v.reshape(shape)
    model.load_state_dict(sd)


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def sb_folder(model, yaml_text):
    d = tmpdir("sbfake")
    with open(os.path.join(d, "hyperparams.yaml"), "w") as f:
        f.write(yaml_text)
    torch.save(model.state_dict(), os.path.join(d, "embedding_model.ckpt"))
    return d


ECAPA_YAML = """\
# fake SpeechBrain pretrained folder (as spkrec-ecapa-voxceleb lays it out)
n_mels: 80
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False
embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [32, 32, 32, 32, 96]
    kernel_sizes: [5, 3, 3, 3, 1]
    dilations: [1, 2, 3, 4, 1]
    attention_channels: 16
    se_channels: 16
    res2net_scale: 4
    lin_neurons: 24
"""

NOGLOB_YAML = """\
n_mels: 40
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False
embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [24, 32, 32, 32, 64]
    kernel_sizes: [3, 3, 5, 3, 3]
    dilations: [1, 2, 2, 3, 1]
    attention_channels: 8
    se_channels: 8
    res2net_scale: 4
    lin_neurons: 16
    global_context: False
"""

XVECTOR_YAML = """\
n_mels: 24
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False
embedding_model: !new:speechbrain.lobes.models.Xvector.Xvector
    in_channels: !ref <n_mels>
    activation: !name:torch.nn.LeakyReLU
    tdnn_blocks: 5
    tdnn_channels: [32, 32, 32, 32, 64]
    tdnn_kernel_sizes: [5, 3, 3, 1, 1]
    tdnn_dilations: [1, 2, 3, 1, 1]
    lin_neurons: 24
"""


def sb_forward(model, feats):
    """[T][F] -> [dim] (SpeechBrain: input (batch, time, feat))."""
    with torch.no_grad():
        return model(feats.unsqueeze(0)).reshape(-1)


def sugar_forward(model, feats):
    """[T][F] -> [dim] (sugar: input (batch, feat, time))."""
    with torch.no_grad():
        return model(feats.t().unsqueeze(0)).reshape(-1)


def count_macs(model, fwd, x):
    """Multiply-accumulates of nn.Conv1d / nn.Linear modules (output elements
    times inputs per output), as thop counts them."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv1d):
            total[0] += out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0]
        else:
            total[0] += out.numel() * mod.in_features
    hs = [mm.register_forward_hook(hook) for mm in model.modules()
          if isinstance(mm, (torch.nn.Conv1d, torch.nn.Linear))]
    fwd(model, x)
    for h in hs:
        h.remove()
    return total[0]


def goldens(out, name, model, fwd, in_ch, lengths, counted=None):
    """counted: the module whose parameters/MACs diffcore reports (default model)."""
    import copy
    m64 = copy.deepcopy(model).double()
    counted = counted or model
    out["%s/params" % name] = torch.tensor([float(sum(p.numel() for p in counted.parameters()))],
                                           dtype=torch.float64)
    for T in lengths:
        x = torch.randn(T, in_ch, generator=G)
        e32 = fwd(model, x)
        e64 = fwd(m64, x.double())
        rel = ((e32.double() - e64).abs().max() / e64.abs().max()).item()
        print("  %s T=%d: |emb| max %.3g, torch f32 vs f64 max rel %.2e" % (name, T, e64.abs().max(), rel))
        out["%s/feats_%d" % (name, T)] = x.float()
        out["%s/emb_%d" % (name, T)] = e64.float()
        out["%s/emb32_%d" % (name, T)] = e32.float()
        out["%s/macs_%d" % (name, T)] = torch.tensor([float(count_macs(counted, fwd, x))],
                                                     dtype=torch.float64)


CLIP = os.path.join(TOP, "tests", "data", "spk", "so762_000010011.wav")


def read_wav(path):
    import wave
    import numpy as np
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        sr = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return torch.from_numpy(x), sr


def frontend(wav, kind, n_mels):
    """The reference front end + sentence mean normalisation: [T][n_mels], float64.
    As tests/golden/make_fbank.py: run with torch's default dtype float64 on a
    float64 waveform (the reference's math without float32 rounding), and
    SpeechBrain's Fbank called step by step (compute_STFT, spectral_magnitude,
    compute_fbanks: its forward's decorator needs torch.amp.custom_fwd, absent
    from torch 1.13); the mean over time is subtracted by hand
    (InputNormalization(norm_type="sentence", std_norm=False))."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        w = wav.double().unsqueeze(0)
        with torch.no_grad():
            if kind == "speechbrain":
                from speechbrain.lobes.features import Fbank
                from speechbrain.processing.features import spectral_magnitude
                fb = Fbank(n_mels=n_mels)
                f = fb.compute_fbanks(spectral_magnitude(fb.compute_STFT(w)))[0]
            else:
                import torchaudio
                f = torchaudio.compliance.kaldi.fbank(w * 32768.0, num_mel_bins=n_mels,
                                                      dither=0.0, sample_frequency=16000.0)
    finally:
        torch.set_default_dtype(old)
    return f - f.mean(dim=0, keepdim=True)


def audio_goldens(out, model, name, kind):
    """dc_spk_embed_audio goldens on the speechocean762 clip: "audio/NAME" (16 kHz
    input) and "audio/NAME_8k" (the clip decimated to 8 kHz by
    scipy.signal.resample_poly(x, 1, 2), stored as "audio/x8k", which the
    library resamples back up: resample_poly(x8k, 2, 1) here)."""
    import copy
    import numpy as np
    import scipy.signal
    wav, sr = read_wav(CLIP)
    assert sr == 16000
    m64 = copy.deepcopy(model).double()
    n_mels = model.blocks[0].conv.in_channels
    f = frontend(wav, kind, n_mels)
    out["audio/%s" % name] = sb_forward(m64, f).float()
    x8 = scipy.signal.resample_poly(wav.numpy().astype(np.float64), 1, 2).astype(np.float32)
    out["audio/x8k"] = torch.from_numpy(x8)
    up = scipy.signal.resample_poly(x8.astype(np.float64), 2, 1).astype(np.float32)
    f8 = frontend(torch.from_numpy(up), kind, n_mels)
    out["audio/%s_8k" % name] = sb_forward(m64, f8).float()
    print("  audio %s (%s front end): %d frames, 8 kHz path %d frames" % (name, kind, f.shape[0],
                                                                         f8.shape[0]))


def main():
    os.makedirs(MODELS, exist_ok=True)
    os.makedirs(GOLD, exist_ok=True)
    gold = {}

    # ECAPA tiny (the CLI tests use this one)
    m = randomise(ECAPA_TDNN(80, channels=[32, 32, 32, 32, 96], kernel_sizes=[5, 3, 3, 3, 1],
                             dilations=[1, 2, 3, 4, 1], attention_channels=16, se_channels=16,
                             res2net_scale=4, lin_neurons=24))
    d = os.path.join(MODELS, "ecapa-tiny")
    spk_convert.convert_speechbrain(sb_folder(m, ECAPA_YAML), d, "F32")
    goldens(gold, "ecapa-tiny", m, sb_forward, 80, [200, 5])

    audio_goldens(gold, m, "ecapa-tiny", "speechbrain")

    m = randomise(ECAPA_TDNN(40, channels=[24, 32, 32, 32, 64], kernel_sizes=[3, 3, 5, 3, 3],
                             dilations=[1, 2, 2, 3, 1], attention_channels=8, se_channels=8,
                             res2net_scale=4, lin_neurons=16, global_context=False))
    d = os.path.join(MODELS, "ecapa-noglob")
    assert spk_convert.main(["speechbrain", sb_folder(m, NOGLOB_YAML), d, "--dtype", "F16",
                             "--frontend", "kaldi"]) == 0
    reload_rounded(m, d)
    goldens(gold, "ecapa-noglob", m, sb_forward, 40, [123, 5])
    audio_goldens(gold, m, "ecapa-noglob", "kaldi")

    m = randomise(Xvector(in_channels=24, tdnn_blocks=5, tdnn_channels=[32, 32, 32, 32, 64],
                          tdnn_kernel_sizes=[5, 3, 3, 1, 1], tdnn_dilations=[1, 2, 3, 1, 1],
                          lin_neurons=24))
    d = os.path.join(MODELS, "xvector-tiny")
    spk_convert.convert_speechbrain(sb_folder(m, XVECTOR_YAML), d, "BF16")
    reload_rounded(m, d)
    goldens(gold, "xvector-tiny", m, sb_forward, 24, [150, 4])

    sup = randomise(DynamicTDNN(in_feats=40, out_embeds=16, num_blocks=4, channels=64,
                                kernel_sizes=5, catconv_channels=96))
    subnet = (3, [48, 32, 64, 16], [3, 5, 1, 3], 72)
    d = os.path.join(MODELS, "etdnn-tiny")
    spk_convert.convert_sugar(sup.state_dict(), d, subnet=subnet, dtype="F16")
    reload_rounded(sup, d)
    sup.config = subnet
    sub = sup.clone(subnet).eval()
    goldens(gold, "etdnn-tiny", sup, sugar_forward, 40, [137, 3], counted=sub)
    x = gold["etdnn-tiny/feats_137"]
    print("  etdnn: supernet-with-config vs clone(): max |d| %.2e"
          % (sugar_forward(sub, x) - gold["etdnn-tiny/emb32_137"]).abs().max())

    # sugar's published layout: a WrappedModel(SpeakerModel) checkpoint
    # {'state_dict': {'module.__S__.<key>': ...}} and a calibrated-BN file
    # {'subnet': config, 'bn': clone state_dict}; converted by the command
    # line with --subnet-bn --prune
    with torch.no_grad():
        for name, t in sub.state_dict().items():
            if name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=G) * 0.3)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=G) + 0.5)
    tmp = tmpdir("sugarfake")
    ck, bn = os.path.join(tmp, "depth.torchparams"), os.path.join(tmp, "sub.bn.tar")
    sd = {"module.__S__." + k: v for k, v in DynamicTDNN(40, 16, 4, 64, 5, 96).state_dict().items()}
    sd.update({"module.__S__." + k: v for k, v in sup.state_dict().items()})
    sd["module.__L__.weight"] = torch.zeros(3, 16)   # a loss head, dropped
    torch.save({"state_dict": sd, "optimizer": {}}, ck)
    torch.save({"subnet": subnet, "bn": sub.state_dict(), "EER": 1.0}, bn)
    assert spk_convert.main(["sugar", ck, os.path.join(MODELS, "etdnn-tiny-bn"),
                             "--subnet-bn", bn, "--prune"]) == 0
    goldens(gold, "etdnn-tiny-bn", sub, sugar_forward, 40, [137, 3])

    dbl = {k: v for k, v in gold.items() if v.dtype == torch.float64}
    spk_convert.save_safetensors(os.path.join(GOLD, "spk_golden.safetensors"),
                                 {k: v for k, v in gold.items() if k not in dbl}, "F32")
    spk_convert.save_safetensors(os.path.join(GOLD, "spk_counts.safetensors"), dbl, "F64")
    for name in sorted(os.listdir(MODELS)):
        p = os.path.join(MODELS, name, spk_convert.WEIGHTS)
        print("%-20s %7d bytes" % (name, os.path.getsize(p)))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
