# SPDX-License-Identifier: MIT
"""The binding keeps up with include/sae.h: every SAE_API function is bound
with as many arguments as declared, the ctypes structures have the C
layouts, and the library's version is checked at import."""
from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys

import pytest

import libsae
from libsae import _lib

from conftest import ROOT


def declared_functions():
    text = (ROOT / "include" / "sae.h").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for m in re.finditer(r"SAE_API\s+[^;(]*?\b(sae_\w+)\s*\(([^)]*)\)\s*;", text):
        params = m.group(2).strip()
        out[m.group(1)] = 0 if params in ("", "void") else params.count(",") + 1
    return out


def test_every_declared_function_is_bound():
    declared = declared_functions()
    assert len(declared) > 50
    missing = sorted(set(declared) - set(_lib.FUNCTIONS))
    assert not missing, f"sae.h functions without a binding in libsae/_lib.py: {missing}"
    for name, nargs in declared.items():
        restype, argtypes, optional = _lib.FUNCTIONS[name]
        assert len(argtypes) == nargs, f"{name}: {len(argtypes)} argtypes, sae.h has {nargs}"
        fn = getattr(_lib, name)
        if _lib.has(name):
            assert fn.argtypes == argtypes and fn.restype == restype
        else:  # newer than the loaded library: a clear error when called
            assert optional
            with pytest.raises(libsae.LibraryVersionError, match=name):
                fn()


STRUCT_PROBE = r"""
#include <stddef.h>
#include <stdio.h>
#include <sae.h>
#define F(T, m) printf(#T " " #m " %zu %zu\n", offsetof(T, m), sizeof(((T *)0)->m))
int main(void)
{
    printf("sae_stats_t - 0 %zu\n", sizeof(sae_stats_t));
    F(sae_stats_t, struct_size); F(sae_stats_t, step); F(sae_stats_t, epoch);
    F(sae_stats_t, total_steps); F(sae_stats_t, samples); F(sae_stats_t, loss);
    F(sae_stats_t, recon_loss); F(sae_stats_t, learning_rate);
    F(sae_stats_t, mean_activation); F(sae_stats_t, l0); F(sae_stats_t, n_terms);
    F(sae_stats_t, term_loss); F(sae_stats_t, term_name);
    printf("sae_regularizer_ops_t - 0 %zu\n", sizeof(sae_regularizer_ops_t));
    F(sae_regularizer_ops_t, struct_size); F(sae_regularizer_ops_t, name);
    F(sae_regularizer_ops_t, penalty); F(sae_regularizer_ops_t, destroy);
    printf("sae_source_ops_t - 0 %zu\n", sizeof(sae_source_ops_t));
    F(sae_source_ops_t, struct_size); F(sae_source_ops_t, next_batch);
    F(sae_source_ops_t, reset); F(sae_source_ops_t, row_count);
    F(sae_source_ops_t, cursor_size); F(sae_source_ops_t, save_cursor);
    F(sae_source_ops_t, restore_cursor); F(sae_source_ops_t, errmsg);
    return 0;
}
"""


def test_struct_layouts_match_c(cc):
    exe = cc(STRUCT_PROBE, "struct_probe")
    lines = subprocess.run([str(exe)], check=True, capture_output=True,
                           text=True).stdout.split("\n")
    structs = {"sae_stats_t": _lib.sae_stats_t,
               "sae_regularizer_ops_t": _lib.sae_regularizer_ops_t,
               "sae_source_ops_t": _lib.sae_source_ops_t}
    seen = set()
    for line in filter(None, lines):
        sname, member, off, size = line.split()
        cls = structs[sname]
        if member == "-":
            assert ctypes.sizeof(cls) == int(size), sname
            continue
        field = getattr(cls, member)
        assert (field.offset, field.size) == (int(off), int(size)), f"{sname}.{member}"
        seen.add((sname, member))
    for sname, cls in structs.items():
        assert {(sname, f[0]) for f in cls._fields_} == {s for s in seen if s[0] == sname}


def test_version():
    assert _lib.version_number() >= _lib.MIN_VERSION
    assert libsae.library_version().count(".") == 2


OLD_LIBRARY = r"""
#include <stdint.h>
uint32_t sae_version_number(void) { return 102; }
const char *sae_version_string(void) { return "0.1.2"; }
"""


def test_too_old_library_is_refused(cc, tmp_path):
    shim = cc(OLD_LIBRARY, "libold.so", ["-shared", "-fPIC"])
    env = dict(os.environ, LIBSAE_LIBRARY=str(shim))
    r = subprocess.run([sys.executable, "-c", "import libsae"], env=env, capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "LibraryVersionError" in r.stderr and "0.1.2" in r.stderr and "0.3.0" in r.stderr


def test_missing_library_is_a_clear_error(tmp_path):
    env = dict(os.environ, LIBSAE_LIBRARY=str(tmp_path / "nowhere.so"))
    r = subprocess.run([sys.executable, "-c", "import libsae"], env=env, capture_output=True,
                       text=True)
    assert r.returncode != 0 and "cannot load the C library" in r.stderr


def test_status_strings_and_error_classes():
    for status, cls in libsae.STATUS_ERRORS.items():
        assert cls.status == status
        assert cls.status_name.startswith("SAE_ERR_")
        assert _lib.sae_status_str(status).decode() != "unknown status"
    # Every status of sae.h has its class.
    text = (ROOT / "include" / "sae.h").read_text()
    declared = {int(v) for v in re.findall(r"SAE_ERR_\w+ = (-\d+)", text)}
    assert set(libsae.STATUS_ERRORS) == declared
