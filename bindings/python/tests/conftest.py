# SPDX-License-Identifier: MIT
"""Shared fixtures of the libsae Python tests: the repository root, the
library being tested, and a C compiler building small programs against it."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import numpy as np
import pytest

import libsae
from libsae import _lib

ROOT = Path(__file__).resolve().parents[3]
INCLUDE_DIRS = [ROOT / "include", ROOT / "build" / "include"]


@pytest.fixture(scope="session")
def cc(tmp_path_factory: pytest.TempPathFactory):
    """compile(source_text, name, extra_args) -> path of an executable or
    shared object linked against the library under test."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    lib = Path(os.path.realpath(_lib.path)) if os.path.sep in _lib.path else None
    incs: List[str] = [f"-I{d}" for d in INCLUDE_DIRS if d.exists()]
    if not (ROOT / "build" / "include" / "sae-version.h").exists():
        pytest.skip("build/include/sae-version.h missing: build the library in build/")
    out_dir = tmp_path_factory.mktemp("cprog")

    def compile(source: str, name: str, extra: List[str] = ()) -> Path:
        src = out_dir / f"{name}.c"
        src.write_text(source)
        exe = out_dir / name
        link = [str(lib), f"-Wl,-rpath,{lib.parent}"] if lib else ["-lsae"]
        subprocess.run([compiler, "-std=c11", "-O1", *incs, str(src), "-o", str(exe),
                        *extra, *link, "-ldl", "-lm"], check=True, capture_output=True)
        return exe
    return compile


@pytest.fixture
def data() -> np.ndarray:
    """300 rows of 12 features in [0, 1), float32, C-contiguous."""
    return np.random.default_rng(0).random((300, 12), dtype=np.float32)


@pytest.fixture
def small(data: np.ndarray) -> libsae.SparseAutoencoder:
    """A small fitted top-k model on `data`."""
    return libsae.SparseAutoencoder(arch__hidden_dim=24, arch__hidden_activation="relu",
                                    topk__k=4, train__batch_size=50, train__threads=1,
                                    epochs=2).fit(data)
