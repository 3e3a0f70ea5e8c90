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
are stubbed when missing, by tests/golden/tslib_import.py.  Prints TSLib's own output; its last "mse:" line is
the score.

TS_INIT=FILE.safetensors in the environment replaces the model's initial
weights, once built, with the tensors of that name in FILE (state_dict
names; tests/bench/ts_train_dump.c with 0 epochs writes ts-forecast's);
the seed still draws TSLib's own dropout masks and batch order, as the
model is built before either, so a run differs from the plain one by its
initial weights alone.
"""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import tslib_import  # noqa: E402  (the stand-ins for packages these runs never use)


def init_from(path):
    """Make the experiment's _build_model load PATH's tensors into the model."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from st_io import read_safetensors
    from exp import exp_long_term_forecasting as elf
    tensors = read_safetensors(path)[0]
    build = elf.Exp_Long_Term_Forecast._build_model

    def build_from_file(self):
        model = build(self)
        sd = model.state_dict()
        n = 0
        for k in sd:
            if k.endswith('.pe') and k not in tensors:
                continue  # fixed sinusoidal position tables, not parameters
            if k not in tensors:
                sys.exit('ts_reference: %s: no tensor %s' % (path, k))
            v = tensors[k].reshape(sd[k].shape)
            sd[k] = v.long() if k.endswith('num_batches_tracked') else v.to(sd[k].dtype)
            n += 1
        model.load_state_dict(sd)
        print('ts_reference: initial weights from %s (%d tensors)' % (path, n), flush=True)
        return model
    elf.Exp_Long_Term_Forecast._build_model = build_from_file


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
    tslib_import.setup(tslib, only_missing=True)
    os.chdir(work)
    sys.path.insert(0, work)
    if os.environ.get('TS_INIT'):
        init_from(os.environ['TS_INIT'])
    sys.argv = ['run.py'] + sys.argv[3:]
    try:
        exec(compile(src, os.path.join(tslib, 'run.py'), 'exec'), {'__name__': '__main__'})
    finally:
        os.chdir('/')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
