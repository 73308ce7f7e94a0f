# SPDX-License-Identifier: MIT
"""Low-level binding: every function of ``include/sae.h`` through ctypes.

The shared library is ``$LIBSAE_LIBRARY`` when set, else the soname
``libsae.so.0`` as the dynamic loader finds it. Each ``sae_*`` function is an
attribute of this module with its ``argtypes`` and ``restype`` set, called
exactly as in C (pointers to float data are passed as integer addresses,
``ndarray.ctypes.data``). :data:`FUNCTIONS` lists every bound signature.

The library is loaded with :class:`ctypes.CDLL`, which releases the GIL for
the length of every foreign call, so other Python threads run while libsae
computes.
"""
from __future__ import annotations

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int,
                    c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)
from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import Error, LibraryVersionError, error_for_status

#: The oldest library this package was written for: 0.3.0 (MAJOR*10000 +
#: MINOR*100 + PATCH, as sae_version_number() reports it).
MIN_VERSION: int = 300
#: The soname looked up when LIBSAE_LIBRARY is not set.
SONAME: str = "libsae.so.0"

SAE_MAX_TERMS: int = 24

# Opaque handles and enums.
sae_config_p = c_void_p
sae_model_p = c_void_p
sae_trainer_p = c_void_p
sae_status_t = c_int
sae_param_t = c_int
sae_param_type_t = c_int
sae_bias_init_t = c_int
sae_progress_kind_t = c_int
float_p = c_void_p  # const float * / float *: an address (ndarray.ctypes.data)


class sae_stats_t(Structure):
    """``sae_stats_t``: statistics of a step, an epoch or an evaluation."""
    _fields_ = [
        ("struct_size", c_uint32),
        ("step", c_uint64),
        ("epoch", c_uint64),
        ("total_steps", c_uint64),
        ("samples", c_uint64),
        ("loss", c_double),
        ("recon_loss", c_double),
        ("learning_rate", c_double),
        ("mean_activation", c_double),
        ("l0", c_double),
        ("n_terms", c_uint32),
        ("term_loss", c_double * SAE_MAX_TERMS),
        ("term_name", c_char_p * SAE_MAX_TERMS),
    ]


#: double (*penalty)(void *user_data, const float *h, size_t rows, size_t units,
#:                   float weight, float *grad)
PENALTY_FN = CFUNCTYPE(c_double, c_void_p, c_void_p, c_size_t, c_size_t, c_float, c_void_p)
#: void (*destroy)(void *user_data)
DESTROY_FN = CFUNCTYPE(None, c_void_p)
#: int (*sae_progress_fn)(sae_progress_kind_t, const sae_stats_t *, void *)
PROGRESS_FN = CFUNCTYPE(c_int, sae_progress_kind_t, POINTER(sae_stats_t), c_void_p)


class sae_regularizer_ops_t(Structure):
    """``sae_regularizer_ops_t``: the callback table of a user regularizer."""
    _fields_ = [
        ("struct_size", c_uint32),
        ("name", c_char_p),
        ("penalty", PENALTY_FN),
        ("destroy", DESTROY_FN),
    ]


#: int (*next_batch)(void *user_data, float *rows_out, size_t max_rows, size_t dim,
#:                   size_t *rows)
NEXT_BATCH_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_size_t, POINTER(c_size_t))
#: int (*reset)(void *user_data, uint64_t epoch)
RESET_FN = CFUNCTYPE(c_int, c_void_p, c_uint64)
#: uint64_t (*row_count)(void *user_data)
ROW_COUNT_FN = CFUNCTYPE(c_uint64, c_void_p)
#: size_t (*cursor_size)(void *user_data)
CURSOR_SIZE_FN = CFUNCTYPE(c_size_t, c_void_p)
#: int (*save_cursor)(void *user_data, void *buf, size_t size)
SAVE_CURSOR_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
#: int (*restore_cursor)(void *user_data, const void *buf, size_t size)
RESTORE_CURSOR_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
#: const char *(*errmsg)(void *user_data); a c_void_p return keeps the bytes
#: alive in the binding's hands rather than ctypes' temporary.
SOURCE_ERRMSG_FN = CFUNCTYPE(c_void_p, c_void_p)


class sae_source_ops_t(Structure):
    """``sae_source_ops_t``: the callback table of a data source (0.4)."""
    _fields_ = [
        ("struct_size", c_uint32),
        ("next_batch", NEXT_BATCH_FN),
        ("reset", RESET_FN),
        ("row_count", ROW_COUNT_FN),
        ("cursor_size", CURSOR_SIZE_FN),
        ("save_cursor", SAVE_CURSOR_FN),
        ("restore_cursor", RESTORE_CURSOR_FN),
        ("errmsg", SOURCE_ERRMSG_FN),
    ]


#: int (*allreduce_float)(void *user_data, float *buf, size_t n)
ALLREDUCE_FLOAT_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_float), c_size_t)
#: int (*allreduce_double)(void *user_data, double *buf, size_t n)
ALLREDUCE_DOUBLE_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_double), c_size_t)
#: int (*broadcast)(void *user_data, void *buf, size_t bytes)
BROADCAST_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)


class sae_reducer_ops_t(Structure):
    """``sae_reducer_ops_t``: the collective callbacks of one rank of a
    data-parallel run (0.4; docs/distributed.md)."""
    _fields_ = [
        ("struct_size", c_uint32),
        ("rank", c_int),
        ("ranks", c_int),
        ("allreduce_float", ALLREDUCE_FLOAT_FN),
        ("allreduce_double", ALLREDUCE_DOUBLE_FN),
        ("broadcast", BROADCAST_FN),
        ("errmsg", SOURCE_ERRMSG_FN),
    ]


class sae_metrics_summary_t(Structure):
    """``sae_metrics_summary_t``: evaluation metrics of rows (0.4)."""
    _fields_ = [
        ("struct_size", c_uint32),
        ("rows", c_uint64),
        ("units", c_uint64),
        ("l0", c_double),
        ("mse", c_double),
        ("fvu", c_double),
        ("explained_variance", c_double),
        ("cosine", c_double),
        ("l2_ratio", c_double),
        ("rel_bias", c_double),
        ("dead_fraction", c_double),
        ("dense_fraction", c_double),
        ("dead_units", c_uint64),
        ("dense_units", c_uint64),
    ]


# Status codes, as in sae.h.
SAE_OK = 0
SAE_PROGRESS_STEP = 0
SAE_PROGRESS_EPOCH = 1
SAE_TYPE_INT = 0
SAE_TYPE_FLOAT = 1

_P = POINTER

#: Every bound function: name -> (restype, argtypes, optional). Optional
#: functions are newer than MIN_VERSION; without them in the library their
#: attribute raises LibraryVersionError when called.
FUNCTIONS: Dict[str, Tuple[Any, List[Any], bool]] = {
    "sae_status_str": (c_char_p, [sae_status_t], False),
    "sae_last_error": (c_char_p, [], False),
    "sae_version_number": (c_uint32, [], False),
    "sae_version_string": (c_char_p, [], False),
    "sae_config_create": (sae_status_t, [_P(sae_config_p)], False),
    "sae_config_clone": (sae_status_t, [sae_config_p, _P(sae_config_p)], False),
    "sae_config_free": (None, [sae_config_p], False),
    "sae_config_errmsg": (c_char_p, [sae_config_p], False),
    "sae_config_set_int": (sae_status_t, [sae_config_p, sae_param_t, c_int64], False),
    "sae_config_set_float": (sae_status_t, [sae_config_p, sae_param_t, c_double], False),
    "sae_config_get_int": (sae_status_t, [sae_config_p, sae_param_t, _P(c_int64)], False),
    "sae_config_get_float": (sae_status_t, [sae_config_p, sae_param_t, _P(c_double)], False),
    "sae_param_info": (sae_status_t, [sae_param_t, _P(sae_param_type_t), _P(c_double),
                                      _P(c_double), _P(c_int), _P(c_int)], False),
    "sae_param_name": (c_char_p, [sae_param_t], False),
    "sae_param_doc": (c_char_p, [sae_param_t], True),
    "sae_param_lookup": (sae_status_t, [c_char_p, _P(sae_param_t)], False),
    "sae_param_at": (sae_status_t, [c_size_t, _P(sae_param_t)], False),
    "sae_config_set": (sae_status_t, [sae_config_p, c_char_p, c_char_p], False),
    "sae_config_get": (sae_status_t, [sae_config_p, c_char_p, ctypes.c_char_p, c_size_t], False),
    "sae_config_set_layers": (sae_status_t, [sae_config_p, c_char_p], False),
    "sae_config_get_layers": (sae_status_t, [sae_config_p, ctypes.c_char_p, c_size_t], False),
    "sae_config_add_regularizer": (sae_status_t, [sae_config_p, _P(sae_regularizer_ops_t),
                                                  c_void_p, c_float], False),
    "sae_regularizer_gradcheck": (sae_status_t, [_P(sae_regularizer_ops_t), c_void_p, c_size_t,
                                                 c_size_t, c_uint64, _P(c_double)], False),
    "sae_config_gradcheck_regularizers": (sae_status_t, [sae_config_p, c_size_t, c_uint64,
                                                         _P(c_double)], False),
    "sae_model_create": (sae_status_t, [sae_config_p, _P(sae_model_p)], False),
    "sae_model_free": (None, [sae_model_p], False),
    "sae_model_errmsg": (c_char_p, [sae_model_p], False),
    "sae_model_config": (sae_config_p, [sae_model_p], False),
    "sae_model_input_dim": (c_size_t, [sae_model_p], False),
    "sae_model_code_dim": (c_size_t, [sae_model_p], False),
    "sae_model_encode": (sae_status_t, [sae_model_p, float_p, c_size_t, float_p], False),
    "sae_model_decode": (sae_status_t, [sae_model_p, float_p, c_size_t, float_p], False),
    "sae_model_reconstruct": (sae_status_t, [sae_model_p, float_p, c_size_t, float_p], False),
    "sae_model_encode_binary": (sae_status_t, [sae_model_p, float_p, c_size_t, c_size_t,
                                               _P(c_uint8)], False),
    "sae_model_prefix_errors": (sae_status_t, [sae_model_p, float_p, c_size_t, _P(c_size_t),
                                               c_size_t, _P(c_double)], False),
    "sae_model_tensor_count": (c_size_t, [sae_model_p], False),
    "sae_model_tensor": (sae_status_t, [sae_model_p, c_size_t, _P(c_char_p), _P(c_size_t),
                                        _P(c_size_t), _P(c_void_p)], False),
    "sae_model_tensor_by_name": (sae_status_t, [sae_model_p, c_char_p, _P(c_size_t),
                                                _P(c_size_t), _P(c_void_p)], False),
    "sae_model_set_tensor": (sae_status_t, [sae_model_p, c_char_p, c_size_t, c_size_t,
                                            float_p], True),
    # 0.4, arch2: input normalisation folded into the weights
    "sae_model_fold_input_scale": (sae_status_t, [sae_model_p], True),
    "sae_model_layer_count": (c_size_t, [sae_model_p], False),
    "sae_model_layer_shape": (sae_status_t, [sae_model_p, c_size_t, _P(c_size_t), _P(c_size_t),
                                             _P(c_size_t)], False),
    "sae_model_reconstruction_error": (sae_status_t, [sae_model_p, float_p, c_size_t,
                                                      _P(c_double), _P(c_double)], False),
    "sae_model_init_decoder_bias": (sae_status_t, [sae_model_p, float_p, c_size_t,
                                                   sae_bias_init_t], False),
    "sae_model_save": (sae_status_t, [sae_model_p, c_char_p], False),
    "sae_model_load": (sae_status_t, [c_char_p, _P(sae_model_p)], False),
    # 0.4, eco: SAEs of other tools
    "sae_model_import": (sae_status_t, [c_char_p, c_char_p, _P(sae_model_p)], True),
    "sae_model_export": (sae_status_t, [sae_model_p, c_char_p, c_char_p], True),
    # 0.4, metrics: the standard evaluation metrics, accumulated over chunks
    "sae_metrics_create": (sae_status_t, [sae_model_p, _P(c_void_p)], True),
    "sae_metrics_free": (None, [c_void_p], True),
    "sae_metrics_errmsg": (c_char_p, [c_void_p], True),
    "sae_metrics_reset": (None, [c_void_p], True),
    "sae_metrics_add": (sae_status_t, [c_void_p, float_p, c_size_t], True),
    "sae_metrics_summary": (sae_status_t, [c_void_p, _P(sae_metrics_summary_t)], True),
    "sae_metrics_frequency": (sae_status_t, [c_void_p, _P(c_double), c_size_t], True),
    "sae_metrics_histogram": (sae_status_t, [c_void_p, c_double, c_double, c_size_t,
                                             _P(c_uint64)], True),
    "sae_model_metrics": (sae_status_t, [sae_model_p, float_p, c_size_t,
                                         _P(sae_metrics_summary_t)], True),
    # 0.4, bf16b: bf16 weights for read-only inference (SAE_PRECISION_FP32 0, _BF16 1)
    "sae_model_set_weight_precision": (sae_status_t, [sae_model_p, c_int], True),
    # 0.4, mpi: one rank of a data-parallel run (a sae_reducer_ops_t)
    "sae_trainer_set_reducer": (sae_status_t, [sae_trainer_p, _P(sae_reducer_ops_t), c_void_p],
                                True),
    "sae_trainer_create": (sae_status_t, [sae_model_p, _P(sae_trainer_p)], False),
    "sae_trainer_free": (None, [sae_trainer_p], False),
    "sae_trainer_errmsg": (c_char_p, [sae_trainer_p], False),
    "sae_trainer_set_callback": (sae_status_t, [sae_trainer_p, PROGRESS_FN, c_void_p], False),
    "sae_trainer_fit": (sae_status_t, [sae_trainer_p, float_p, c_size_t, c_uint64], False),
    "sae_trainer_fit_steps": (sae_status_t, [sae_trainer_p, float_p, c_size_t, c_uint64], False),
    "sae_trainer_step": (sae_status_t, [sae_trainer_p, float_p, c_size_t, _P(sae_stats_t)], False),
    "sae_trainer_evaluate": (sae_status_t, [sae_trainer_p, float_p, c_size_t,
                                            _P(sae_stats_t)], False),
    "sae_trainer_steps": (c_uint64, [sae_trainer_p], False),
    "sae_trainer_set_learning_rate": (sae_status_t, [sae_trainer_p, c_double], True),
    "sae_trainer_unit_activity": (sae_status_t, [sae_trainer_p, _P(c_double), c_size_t, c_uint64,
                                                 _P(c_double)], False),
    "sae_trainer_gradcheck": (sae_status_t, [sae_trainer_p, float_p, c_size_t,
                                             _P(c_double)], False),
    "sae_trainer_gradcheck_double": (sae_status_t, [sae_trainer_p, float_p, c_size_t,
                                                    _P(c_double), _P(c_double)], False),
    # ckpt (0.4): data sources
    "sae_trainer_fit_source": (sae_status_t, [sae_trainer_p, _P(sae_source_ops_t), c_void_p,
                                              c_uint64, c_uint64], True),
    # ckpt (0.4): checkpoints
    "sae_trainer_save_checkpoint": (sae_status_t, [sae_trainer_p, c_char_p], True),
    "sae_trainer_load_checkpoint": (sae_status_t, [c_char_p, _P(sae_model_p), _P(sae_trainer_p)],
                                    True),
    "sae_trainer_epochs": (c_uint64, [sae_trainer_p], True),
}


def _library_path() -> str:
    return os.environ.get("LIBSAE_LIBRARY") or SONAME


def _load() -> ctypes.CDLL:
    path = _library_path()
    try:
        return ctypes.CDLL(path)
    except OSError as exc:
        raise LibraryVersionError(
            f"libsae: cannot load the C library {path!r} ({exc}); install libsae "
            "(meson install) or point LIBSAE_LIBRARY at libsae.so.0") from exc


#: The loaded shared library.
lib: ctypes.CDLL = _load()
#: Its path as given to the loader.
path: str = _library_path()


def _missing(name: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        raise LibraryVersionError(
            f"libsae: {name} is not in the loaded library {path!r} (version "
            f"{version_string()}): it needs a newer libsae")
    call.__name__ = name
    call.missing = True  # type: ignore[attr-defined]
    return call


def _bind() -> None:
    g = globals()
    for name, (restype, argtypes, optional) in FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            if not optional:
                raise LibraryVersionError(
                    f"libsae: the library {path!r} lacks {name}: it is older than "
                    f"{MIN_VERSION // 10000}.{MIN_VERSION // 100 % 100}.{MIN_VERSION % 100}")
            g[name] = _missing(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
        g[name] = fn


def has(name: str) -> bool:
    """True when the loaded library exports function ``name``."""
    fn = globals().get(name)
    return fn is not None and not getattr(fn, "missing", False)


def version_number() -> int:
    """``sae_version_number()``: MAJOR*10000 + MINOR*100 + PATCH."""
    return int(lib.sae_version_number())


def version_string() -> str:
    """``sae_version_string()``: "MAJOR.MINOR.PATCH"."""
    lib.sae_version_string.restype = c_char_p
    return lib.sae_version_string().decode()


lib.sae_version_number.restype = c_uint32
if version_number() < MIN_VERSION:
    raise LibraryVersionError(
        f"libsae: the library {path!r} is version {version_string()}, but this package "
        f"needs at least {MIN_VERSION // 10000}.{MIN_VERSION // 100 % 100}.{MIN_VERSION % 100}")
_bind()


def _text(b: Optional[bytes]) -> str:
    return b.decode("utf-8", "replace") if b else ""


def last_error() -> str:
    """``sae_last_error()`` as str."""
    return _text(sae_last_error())  # type: ignore[name-defined]  # noqa: F821


def check(status: int, message: Optional[str] = None) -> None:
    """Raises the :class:`~libsae.Error` subclass of ``status`` unless it is
    SAE_OK. ``message`` is the handle's errmsg when the call had one;
    otherwise ``sae_last_error()`` is read."""
    if status == SAE_OK:
        return
    if message is None or message == "":
        message = last_error()
    desc = _text(sae_status_str(status))  # type: ignore[name-defined]  # noqa: F821
    raise error_for_status(status, message or desc, desc)


__all__ = ["lib", "path", "FUNCTIONS", "MIN_VERSION", "SONAME", "sae_stats_t",
           "sae_reducer_ops_t",
           "sae_metrics_summary_t", "sae_regularizer_ops_t", "sae_source_ops_t", "PENALTY_FN", "DESTROY_FN", "PROGRESS_FN", "check",
           "has", "last_error", "version_number", "version_string", "Error"] + list(FUNCTIONS)
