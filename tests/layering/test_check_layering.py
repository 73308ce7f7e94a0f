#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Self-test of tools/check-layering.py on small synthetic lib/ trees.

Usage: test_check_layering.py [PATH/TO/check-layering.py] [unittest args]
(the default is ../../tools/check-layering.py relative to this file).
"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, '..', '..', 'tools', 'check-layering.py')
if len(sys.argv) > 1 and sys.argv[1].endswith('.py'):
    SCRIPT = sys.argv.pop(1)

# A clean tree: own-folder, downward, public and system includes, a bare
# same-folder include, and a foo.c/foo.h pair (one node, not a circle).
CLEAN = {
    'core/error.h': '#include "sae.h"\n#include <stddef.h>\n',
    'core/error.c': '#include "core/error.h"\n#include "sae-version.h"\n',
    'core/rng.h': '#include "core/error.h"\n',
    'layers/conv.h': '#include "core/rng.h"\n',
    'layers/conv.c': '#include "conv.h"\n#include "layers/conv.h"\n',
    'model/model.h': '#include "layers/conv.h"\n#include "core/error.h"\n',
    'model/model.c': '#include "model/model.h"\n#include "optim/sgd.h"\n',
    'optim/sgd.h': '#include "core/error.h"\n',
    'io/save.c': ('/* #include "train/none.h" in a comment does not count */\n'
                  '#include "model/model.h"\n#include "train/trainer.h"\n'),
    'train/trainer.h': '#include "model/model.h"\n// a line comment\n',
}


def run(tree, *extra):
    """Write tree (lib-relative path -> text) under a temp lib/, run the script."""
    with tempfile.TemporaryDirectory() as tmp:
        lib = os.path.join(tmp, 'lib')
        for rel, text in tree.items():
            path = os.path.join(lib, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
        os.makedirs(lib, exist_ok=True)
        p = subprocess.run([sys.executable, SCRIPT, *extra, lib],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr


class CheckLayering(unittest.TestCase):
    def test_clean_tree(self):
        rc, out, err = run(CLEAN)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.strip().splitlines(), [
            'layering: 10 files, 15 includes, 6 folders, no upward include, no circle'])

    def test_upward_include(self):
        tree = dict(CLEAN)
        tree['optim/sgd.h'] = '#include "core/error.h"\n\n#include "model/model.h"\n'
        rc, out, _ = run(tree)
        self.assertEqual(rc, 1, out)
        self.assertIn('lib/optim/sgd.h:3: includes model/model.h, above optim (core < '
                      'layers < optim < config < code < model < loss < sparsity < '
                      'train < io)', out)

    def test_upward_include_from_core(self):
        tree = dict(CLEAN)
        tree['core/rng.c'] = '#include "core/rng.h"\n#include "io/format.h"\n'
        rc, out, _ = run(tree)
        self.assertEqual(rc, 1, out)
        self.assertIn('lib/core/rng.c:2: includes io/format.h, above core', out)
        self.assertEqual(len(out.strip().splitlines()), 1, out)

    def test_two_file_circle_in_one_folder(self):
        tree = dict(CLEAN)
        tree['model/network.h'] = '#include "model/model.h"\n'
        tree['model/model.h'] = '#include "layers/conv.h"\n'
        tree['model/model.c'] = '#include "model/model.h"\n#include "model/network.h"\n'
        rc, out, _ = run(tree)
        self.assertEqual(rc, 1, out)
        self.assertEqual(out.strip().splitlines(),
                         ['circle: model/model -> model/network -> model/model'])

    def test_three_file_circle_reported_once(self):
        tree = dict(CLEAN)
        tree['train/a.h'] = '#include "train/b.h"\n'
        tree['train/b.c'] = '#include "train/c.h"\n'
        tree['train/c.h'] = '#include "train/a.h"\n'
        rc, out, _ = run(tree)
        self.assertEqual(rc, 1, out)
        self.assertEqual(out.strip().splitlines(),
                         ['circle: train/a -> train/b -> train/c -> train/a'])

    def test_circle_across_folders(self):
        tree = dict(CLEAN)
        tree['optim/sgd.c'] = '#include "optim/sgd.h"\n#include "model/model.h"\n'
        tree['model/model.h'] = '#include "optim/sgd.h"\n'
        rc, out, _ = run(tree)
        self.assertEqual(rc, 1, out)
        lines = out.strip().splitlines()
        self.assertEqual(lines[1], 'circle: model/model -> optim/sgd -> model/model')
        self.assertTrue(lines[0].startswith('lib/optim/sgd.c:2: includes model/model.h, above optim'))

    def test_unknown_folder(self):
        tree = dict(CLEAN)
        tree['train/trainer.c'] = '#include "train/trainer.h"\n#include "util/misc.h"\n'
        rc, out, _ = run(tree)
        self.assertEqual(rc, 1, out)
        self.assertIn('lib/train/trainer.c:2: includes util/misc.h, unknown folder util', out)

    def test_file_in_unknown_folder(self):
        tree = dict(CLEAN)
        tree['extra/x.c'] = '#include "core/error.h"\n'
        rc, out, _ = run(tree)
        self.assertEqual(rc, 1, out)
        self.assertIn('lib/extra/x.c:1: file in unknown folder extra', out)

    def test_bare_include_of_missing_file(self):
        tree = dict(CLEAN)
        tree['core/rng.c'] = '#include "nowhere.h"\n'
        rc, out, _ = run(tree)
        self.assertEqual(rc, 1, out)
        self.assertIn('lib/core/rng.c:1: includes nowhere.h, not a public header', out)

    def test_dot(self):
        tree = dict(CLEAN)
        tree['optim/sgd.h'] = '#include "model/model.h"\n'
        rc, out, _ = run(tree, '--dot')
        self.assertEqual(rc, 0, out)
        self.assertIn('"optim" -> "model" [label=1 color=red];', out)
        self.assertIn('"model" -> "layers" [label=1];', out)


if __name__ == '__main__':
    if not os.path.isfile(SCRIPT):
        sys.exit('test_check_layering: no script at %s' % SCRIPT)
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=1)
