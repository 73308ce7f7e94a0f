# SPDX-License-Identifier: MIT
"""libsae: sparse autoencoders in C, from Python.

A pure-Python binding (ctypes, no compile step) of the C library libsae
(``libsae.so.0``, or the file named by ``$LIBSAE_LIBRARY``):

- :class:`SparseAutoencoder`: a scikit-learn compatible estimator (fit,
  partial_fit, transform/encode, inverse_transform/decode, reconstruct,
  evaluate, metrics, save, tensors, set_tensor, config, get_params/set_params);
- :func:`load`: a model file written by the library;
- :func:`parameters`: every configuration key with its type, bounds, default
  and meaning;
- :class:`Error` and one subclass per library status;
- :mod:`libsae._lib`: every C function of ``sae.h``, as declared.

See docs/python.md in the libsae source tree.
"""
from __future__ import annotations

from . import _lib
from .core import (LAYERS_KEY, ConfigView, DataSource, Parameter, Regularizer,
                   SparseAutoencoder, StepStats, Tensors,
                   key_to_param, load, load_checkpoint, param_to_key, parameters)
from .errors import (STATUS_ERRORS, BadValueError, CancelledError, ChecksumError,
                     DimensionError, DivergedError, Error, FormatError, IoError,
                     LibraryVersionError, NoMemError, NonFiniteError, NullError,
                     ParamTypeError, RangeError, ReducerError, MismatchError, SourceError,
                     StateError, UnknownKeyError, UnsupportedError, VersionError)

#: This package's version.
__version__: str = "0.4.0"


def library_version() -> str:
    """The loaded C library's version string (``sae_version_string``)."""
    return _lib.version_string()


__all__ = [
    "SparseAutoencoder", "Regularizer", "DataSource", "load", "load_checkpoint", "parameters", "Parameter", "StepStats", "Tensors",
    "ConfigView", "key_to_param", "param_to_key", "LAYERS_KEY", "library_version",
    "Error", "NullError", "NoMemError", "RangeError", "UnknownKeyError", "BadValueError",
    "DimensionError", "NonFiniteError", "IoError", "FormatError", "ChecksumError",
    "VersionError", "CancelledError", "StateError", "UnsupportedError", "DivergedError",
    "ParamTypeError", "SourceError", "ReducerError", "MismatchError", "LibraryVersionError", "STATUS_ERRORS",
]
