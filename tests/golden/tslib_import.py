"""tslib_import.py - import Time-Series-Library (a checkout whose path is
given by the caller) on Debian's python3-torch, which lacks sklearn, sktime,
datasets, huggingface_hub, patoolib, tqdm, reformer_pytorch and einops: those modules are replaced by
minimal stand-ins before TSLib's modules are imported.  The only stand-in
whose behaviour matters is sklearn's StandardScaler (population std, scale
1 for a constant column), which the data loaders fit on the training rows.
Nothing of TSLib is copied here; it is imported from the given path.
"""
import importlib.machinery
import importlib.util
import sys
import types

import numpy as np


class StandardScaler:
    def fit(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.mean_ = x.mean(axis=0)
        s = x.std(axis=0)
        s[s == 0] = 1.0
        self.scale_ = s
        return self

    def transform(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean_) / self.scale_

    def inverse_transform(self, x):
        return np.asarray(x) * self.scale_ + self.mean_


_keep_present = False
_stubbed = set()


def _stub(name, **attrs):
    """Stand in for module `name`; with setup(..., only_missing=True) an
    installed third-party package, and TSLib's own submodules, are left as
    they are."""
    top = name.split(".")[0]
    if _keep_present and (top in ("data_provider", "utils") or
                          (top not in _stubbed and importlib.util.find_spec(top))):
        return None
    _stubbed.add(top)
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None)  # torch._dynamo's find_spec() reads it
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


def setup(tslib_path, only_missing=False):
    """Make `import data_provider.data_loader`, `models.DLinear`, ... work.
    only_missing: stub only the third-party packages that are not installed
    (a full PyTorch stack keeps its own sklearn, einops, ...) and none of
    TSLib's modules, so that its run.py runs whole."""
    global _keep_present
    _keep_present = only_missing
    _stub("sklearn")
    _stub("sklearn.preprocessing", StandardScaler=StandardScaler)
    _stub("sktime")
    _stub("sktime.datasets", load_from_tsfile_to_dataframe=None)
    _stub("datasets", load_dataset=None)
    _stub("huggingface_hub", hf_hub_download=None)
    _stub("patoolib")
    _stub("tqdm", tqdm=lambda x, *a, **k: x)
    # layers/SelfAttention_Family.py imports these for models we do not run
    _stub("reformer_pytorch", LSHSelfAttention=None)
    _stub("einops", rearrange=None, repeat=None)
    # data_loader imports these two submodules only for other tasks
    _stub("data_provider.m4", M4Dataset=None, M4Meta=None)
    _stub("data_provider.uea", subsample=None, interpolate_missing=None, Normalizer=None)
    _stub("utils.augmentation", run_augmentation_single=None)
    sys.path.insert(0, tslib_path)
    import data_provider  # noqa: F401  (the real package, with m4/uea stubbed)


class Args:
    """The argparse namespace TSLib's loaders and models read."""
    def __init__(self, **kw):
        self.task_name = "long_term_forecast"
        self.augmentation_ratio = 0
        self.seq_len, self.label_len, self.pred_len = 96, 48, 96
        self.enc_in = self.dec_in = self.c_out = 7
        self.moving_avg = 25
        self.features = "M"
        self.__dict__.update(kw)
