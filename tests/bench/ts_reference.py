#!/usr/bin/env python3
"""ts_reference.py - one Time-Series-Library run (its own run.py, models and
training loop) with a chosen seed, for the seed spread beside the published
numbers in ts-forecast(1).

  ts_reference.py TSLIB_DIR SEED RUN_PY_ARGS...

Runs in a fresh working directory (TSLib writes ./checkpoints, ./results and
deletes its checkpoint after testing, so runs in one directory collide).
run.py fixes its seed at 2021; the seed here replaces that one line in the
copy that is executed, nothing on disk changes.  Packages TSLib imports for
models and datasets these runs never touch (sktime, datasets, reformer, ...)
are stubbed when missing.  Prints TSLib's own output; its last "mse:" line is
the score.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import types

OPTIONAL = ('sktime', 'datasets', 'huggingface_hub', 'einops', 'reformer_pytorch', 'patoolib', 'arch',
            'mamba_ssm', 'pywt', 'local_attention', 'statsmodels')


class _Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return type(name, (), {'__init__': lambda self, *a, **k: None})


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        top = name.split('.')[0]
        if top in OPTIONAL and top not in _present:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _Stub(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: ts_reference.py TSLIB_DIR SEED RUN_PY_ARGS...')
    tslib, seed = os.path.abspath(sys.argv[1]), int(sys.argv[2])
    src = open(os.path.join(tslib, 'run.py')).read()
    src, n = re.subn(r'fix_seed = \d+', 'fix_seed = %d' % seed, src)
    if n != 1:
        sys.exit('ts_reference: run.py: no "fix_seed = N" line to set')
    work = tempfile.mkdtemp(prefix='tslib-run-')
    for d in ('models', 'layers', 'exp', 'utils', 'data_provider'):
        os.symlink(os.path.join(tslib, d), os.path.join(work, d))
    os.chdir(work)
    sys.path.insert(0, work)
    sys.meta_path.insert(0, _StubFinder())
    sys.argv = ['run.py'] + sys.argv[3:]
    try:
        exec(compile(src, os.path.join(tslib, 'run.py'), 'exec'), {'__name__': '__main__'})
    finally:
        os.chdir('/')
        shutil.rmtree(work, ignore_errors=True)


_present = {m for m in OPTIONAL if importlib.util.find_spec(m) is not None}
if __name__ == '__main__':
    main()
