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
"""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import tslib_import  # noqa: E402  (the stand-ins for packages these runs never use)


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
    sys.argv = ['run.py'] + sys.argv[3:]
    try:
        exec(compile(src, os.path.join(tslib, 'run.py'), 'exec'), {'__name__': '__main__'})
    finally:
        os.chdir('/')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
