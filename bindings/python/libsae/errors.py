# SPDX-License-Identifier: MIT
"""The exceptions of libsae: :class:`Error` and one subclass per status.

Every failing library call raises the subclass of its ``sae_status_t``; the
exception carries the status number (``.status``), the library's own message
(``.message``: the handle's errmsg or ``sae_last_error()``) and the status's
short description (``.description``, ``sae_status_str``).

Where a Python built-in exception means the same thing, the class derives
from it too, so ``except ValueError`` catches a :class:`BadValueError` and
``except OSError`` an :class:`IoError`.
"""
from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "Error", "NullError", "NoMemError", "RangeError", "UnknownKeyError",
    "BadValueError", "DimensionError", "NonFiniteError", "IoError", "FormatError",
    "ChecksumError", "VersionError", "CancelledError", "StateError",
    "UnsupportedError", "DivergedError", "ParamTypeError", "SourceError", "LibraryVersionError",
    "STATUS_ERRORS", "error_for_status",
]


class Error(Exception):
    """Base class of every error raised for a libsae status.

    Attributes:
        status: the ``sae_status_t`` value (negative), or None for errors the
            binding raises itself (:class:`LibraryVersionError`).
        message: the library's message naming the problem.
        description: ``sae_status_str(status)``, the status's short meaning.
    """

    status: Optional[int] = None
    status_name: str = ""

    def __init__(self, message: str, status: Optional[int] = None,
                 description: str = "") -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.description = description

    def __str__(self) -> str:
        return self.message or self.description or self.status_name


class NullError(Error):
    """SAE_ERR_NULL (-1): a required pointer argument was NULL."""
    status, status_name = -1, "SAE_ERR_NULL"


class NoMemError(Error, MemoryError):
    """SAE_ERR_NOMEM (-2): an allocation failed."""
    status, status_name = -2, "SAE_ERR_NOMEM"


class RangeError(Error, ValueError):
    """SAE_ERR_RANGE (-3): a value is out of its bounds (or an index past the end)."""
    status, status_name = -3, "SAE_ERR_RANGE"


class UnknownKeyError(Error, KeyError):
    """SAE_ERR_UNKNOWN_KEY (-4): an unknown config key, parameter id or tensor name."""
    status, status_name = -4, "SAE_ERR_UNKNOWN_KEY"


class BadValueError(Error, ValueError):
    """SAE_ERR_BAD_VALUE (-5): a string value could not be parsed."""
    status, status_name = -5, "SAE_ERR_BAD_VALUE"


class DimensionError(Error, ValueError):
    """SAE_ERR_DIMENSION (-6): dimensions do not match the model."""
    status, status_name = -6, "SAE_ERR_DIMENSION"


class NonFiniteError(Error, ValueError):
    """SAE_ERR_NONFINITE (-7): input data holds NaN or Inf."""
    status, status_name = -7, "SAE_ERR_NONFINITE"


class IoError(Error, OSError):
    """SAE_ERR_IO (-8): a file could not be opened, read or written."""
    status, status_name = -8, "SAE_ERR_IO"


class FormatError(Error):
    """SAE_ERR_FORMAT (-9): a file is malformed, truncated or hostile."""
    status, status_name = -9, "SAE_ERR_FORMAT"


class ChecksumError(Error):
    """SAE_ERR_CHECKSUM (-10): a file's data does not match its checksum."""
    status, status_name = -10, "SAE_ERR_CHECKSUM"


class VersionError(Error):
    """SAE_ERR_VERSION (-11): a file's format version is not supported."""
    status, status_name = -11, "SAE_ERR_VERSION"


class CancelledError(Error):
    """SAE_ERR_CANCELLED (-12): a progress callback asked to stop."""
    status, status_name = -12, "SAE_ERR_CANCELLED"


class StateError(Error):
    """SAE_ERR_STATE (-13): the call is not valid in the current state
    (e.g. an inconsistent config at model creation)."""
    status, status_name = -13, "SAE_ERR_STATE"


class UnsupportedError(Error):
    """SAE_ERR_UNSUPPORTED (-14): a feature is not built into this library."""
    status, status_name = -14, "SAE_ERR_UNSUPPORTED"


class DivergedError(Error, ArithmeticError):
    """SAE_ERR_DIVERGED (-15): training produced a non-finite loss."""
    status, status_name = -15, "SAE_ERR_DIVERGED"


class ParamTypeError(Error, TypeError):
    """SAE_ERR_TYPE (-16): a parameter was set or read with the wrong type."""
    status, status_name = -16, "SAE_ERR_TYPE"


class SourceError(Error):
    """SAE_ERR_SOURCE (-20): a data source's callback reported a failure
    (for a Python iterator, the exception it raised is chained as the
    cause)."""
    status, status_name = -20, "SAE_ERR_SOURCE"


class ReducerError(Error):
    """SAE_ERR_REDUCER (-21): a data-parallel run's reducer reported a
    failure (a peer died, the network failed)."""
    status, status_name = -21, "SAE_ERR_REDUCER"


class MismatchError(Error):
    """SAE_ERR_MISMATCH (-22): the ranks of a data-parallel run disagree
    (configuration, model size)."""
    status, status_name = -22, "SAE_ERR_MISMATCH"


class LibraryVersionError(Error, ImportError):
    """The loaded libsae is older than this package needs, or lacks a
    function this package binds (raised by the binding, status None)."""
    status, status_name = None, "libsae too old"


#: sae_status_t value -> exception class.
STATUS_ERRORS: Dict[int, Type[Error]] = {
    cls.status: cls for cls in (
        NullError, NoMemError, RangeError, UnknownKeyError, BadValueError,
        DimensionError, NonFiniteError, IoError, FormatError, ChecksumError,
        VersionError, CancelledError, StateError, UnsupportedError,
        DivergedError, ParamTypeError, SourceError, ReducerError,
        MismatchError)
}


def error_for_status(status: int, message: str, description: str = "") -> Error:
    """The exception instance for a failed status (an :class:`Error` for an
    unknown one)."""
    cls = STATUS_ERRORS.get(status, Error)
    return cls(message, status, description)
