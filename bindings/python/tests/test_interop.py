# SPDX-License-Identifier: MIT
"""Files and training shared with C: the golden file, files read by the
independent reader tests/check_safetensors.py, and a model trained in
Python bitwise equal to one trained by a C program with the same config."""
from __future__ import annotations

import importlib.util
import subprocess

import numpy as np
import pytest

import libsae

from conftest import ROOT


def reader():
    spec = importlib.util.spec_from_file_location("check_safetensors",
                                                  ROOT / "tests" / "check_safetensors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_golden_file_written_by_c():
    golden = ROOT / "tests" / "data" / "golden-v1-untied.safetensors"
    m = libsae.load(golden)
    _, tensors, _ = reader().read(str(golden))
    assert set(m.tensors) == set(tensors)
    for name, t in tensors.items():
        assert np.array_equal(m.tensors[name].reshape(t.shape), t)
    assert m.n_features_in_ == 6 and m.code_dim_ == 4


def test_python_file_read_by_the_independent_reader(tmp_path, data):
    m = libsae.SparseAutoencoder(arch__hidden_dim=4, epochs=1).fit(data[:, :6])
    path = tmp_path / "py.safetensors"
    m.save(path)
    tensors = reader().check_libsae(str(path))  # format, checksum, shapes
    for name, t in tensors.items():
        assert np.array_equal(m.tensors[name].reshape(t.shape), t)


TRAIN_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sae.h>
/* train_c DATA ROWS COLS EPOCHS OUT [key=value...] */
int main(int argc, char **argv)
{
    size_t rows = strtoul(argv[2], NULL, 10), cols = strtoul(argv[3], NULL, 10);
    float *x = malloc(rows * cols * sizeof *x);
    FILE *f = fopen(argv[1], "rb");
    if (!x || !f || fread(x, sizeof *x, rows * cols, f) != rows * cols) return 2;
    fclose(f);
    sae_config_t *cfg; sae_model_t *m; sae_trainer_t *t;
    if (sae_config_create(&cfg) || sae_config_set_int(cfg, SAE_P_INPUT_DIM, (int64_t)cols))
        return 3;
    for (int i = 6; i < argc; i++) {
        char *eq = argv[i];
        while (*eq != '=') eq++;
        *eq = 0;
        if (sae_config_set(cfg, argv[i], eq + 1)) { fprintf(stderr, "%s\n", sae_config_errmsg(cfg)); return 4; }
    }
    if (sae_model_create(cfg, &m) || sae_trainer_create(m, &t)) return 5;
    if (sae_trainer_fit(t, x, rows, strtoull(argv[4], NULL, 10))) return 6;
    if (sae_model_save(m, argv[5])) return 7;
    sae_trainer_free(t); sae_model_free(m); sae_config_free(cfg); free(x);
    return 0;
}
"""


@pytest.mark.parametrize("config", [
    {"arch.hidden_dim": 20, "arch.hidden_activation": "relu", "topk.k": 3,
     "train.batch_size": 32, "train.threads": 1, "train.seed": 7},
    {"arch.hidden_dim": 10, "kl.weight": 0.1, "corrupt.noise_std": 0.1,
     "train.batch_size": 25, "train.threads": 1, "optim.type": "sgd", "optim.lr": 0.1},
])
def test_python_training_equals_c_bitwise(cc, tmp_path, data, config):
    exe = cc(TRAIN_C, "train_c")
    raw = tmp_path / "x.f32"
    data.tofile(raw)
    c_file = tmp_path / "c.safetensors"
    subprocess.run([str(exe), str(raw), "300", "12", "3", str(c_file),
                    *[f"{k}={v}" for k, v in config.items()]], check=True)
    py = libsae.SparseAutoencoder(config, epochs=3).fit(data)
    c = libsae.load(c_file)
    assert set(c.tensors) == set(py.tensors)
    for name, t in py.tensors.items():
        assert t.tobytes() == c.tensors[name].tobytes(), name


def test_export_to_saelens_and_back(tmp_path):
    """A top-k model written as a SAELens folder and read back through
    libsae.load(format=...) (sae_model_import) encodes bitwise alike; the
    folder holds SAELens's tensor names and layout."""
    rng = np.random.default_rng(3)
    x = rng.random((256, 24), dtype=np.float32)
    m = libsae.SparseAutoencoder({"arch.hidden_dim": 48, "arch.hidden_activation": "relu",
                                  "topk.k": 6, "arch.pre_encoder_bias": True,
                                  "arch.output_activation": "linear"}, epochs=2)
    m.fit(x)
    folder = tmp_path / "saelens"
    m.export(folder, "saelens")
    names = {"cfg.json", "sae_weights.safetensors"}
    assert names <= {p.name for p in folder.iterdir()}
    back = libsae.load(folder, format="saelens")
    assert np.array_equal(back.encode(x), m.encode(x))
    assert np.array_equal(libsae.load(folder).encode(x), m.encode(x))
    with pytest.raises(libsae.BadValueError):
        libsae.load(folder, format="no-such-format")
    with pytest.raises(libsae.UnsupportedError):
        libsae.SparseAutoencoder({"arch.hidden_dim": 8, "arch.hidden_activation": "sigmoid"},
                                 epochs=1).fit(x).export(tmp_path / "s2", "saelens")
