# SPDX-License-Identifier: MIT
"""The Pythonic layer of libsae: :class:`SparseAutoencoder`, :func:`load`,
:func:`parameters`, and the key mapping of scikit-learn parameter names."""
from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import tempfile
import threading
from ctypes import byref, c_char_p, c_double, c_float, c_int, c_int64, c_size_t, c_void_p
import collections.abc
import itertools
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping, MutableMapping,
                    Optional, Sequence, Tuple, Union)

import numpy as np

from . import _lib
from .errors import (DimensionError, Error, ParamTypeError, StateError, UnknownKeyError,
                     UnsupportedError)

__all__ = ["SparseAutoencoder", "Regularizer", "DataSource", "load", "load_checkpoint", "parameters",
           "Parameter",
           "StepStats", "key_to_param", "param_to_key", "LAYERS_KEY"]

#: The one string-valued key, not in the numeric parameter table.
LAYERS_KEY = "arch.layers"

PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = Any

_ = _lib  # the low-level module; every call below goes through it


# --------------------------------------------------------------------------
# Keys and values
# --------------------------------------------------------------------------

def param_to_key(name: str) -> str:
    """The library key of a scikit-learn parameter name: ``"arch__hidden_dim"``
    -> ``"arch.hidden_dim"`` (``"__"`` stands for the dot). A name that is
    already a library key is returned unchanged."""
    return name.replace("__", ".")


def key_to_param(key: str) -> str:
    """The scikit-learn parameter name of a library key: ``"topk.k"`` ->
    ``"topk__k"``."""
    return key.replace(".", "__")


def _b(s: str) -> bytes:
    return s.encode("utf-8")


def _to_text(key: str, value: Any) -> str:
    """A Python value as the text sae_config_set parses."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return value
    raise ParamTypeError(f"{key}: a value of type {type(value).__name__} (expected int, "
                         "float, bool or str)")


def _from_text(key: str, text: str, ptype: Optional[int]) -> Any:
    """Text from sae_config_get as a Python value: int, float, bool or str
    (enum names and arch.layers)."""
    if ptype is None:
        return text
    if ptype == _lib.SAE_TYPE_FLOAT:
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        return text


def _param_ids() -> List[int]:
    ids = []
    pid = c_int()
    i = 0
    while _lib.sae_param_at(i, byref(pid)) == _lib.SAE_OK:
        ids.append(pid.value)
        i += 1
    return ids


_IDS: List[int] = _param_ids()
_KEYS: Dict[str, int] = {_lib.sae_param_name(p).decode(): p for p in _IDS}


def _ptype(key: str) -> Optional[int]:
    pid = _KEYS.get(key)
    if pid is None:
        return None
    t = c_int()
    _lib.check(_lib.sae_param_info(pid, byref(t), None, None, None, None))
    return t.value


def _all_keys() -> List[str]:
    return list(_KEYS) + [LAYERS_KEY]


class _Config:
    """Owns one sae_config_t."""

    def __init__(self, ptr: Optional[int] = None) -> None:
        if ptr is None:
            p = c_void_p()
            _lib.check(_lib.sae_config_create(byref(p)))
            ptr = p.value
        self.ptr = ptr

    def __del__(self) -> None:
        if getattr(self, "ptr", None):
            _lib.sae_config_free(self.ptr)
            self.ptr = None

    def clone(self) -> "_Config":
        p = c_void_p()
        _lib.check(_lib.sae_config_clone(self.ptr, byref(p)))
        return _Config(p.value)

    def set(self, key: str, value: Any) -> None:
        st = _lib.sae_config_set(self.ptr, _b(key), _b(_to_text(key, value)))
        _lib.check(st, _lib._text(_lib.sae_config_errmsg(self.ptr)))

    def get(self, key: str) -> Any:
        return _config_get(self.ptr, key)


def _config_get(ptr: int, key: str) -> Any:
    size = 256
    while True:
        buf = ctypes.create_string_buffer(size)
        st = _lib.sae_config_get(ptr, _b(key), buf, size)
        if st == -3 and size < (1 << 22):  # SAE_ERR_RANGE: buffer too small
            size *= 8
            continue
        _lib.check(st)
        return _from_text(key, buf.value.decode(), _ptype(key))


# --------------------------------------------------------------------------
# The parameter table
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Parameter:
    """One library parameter, as the library describes it.

    Attributes:
        key: the library key (``"topk.k"``).
        name: the scikit-learn parameter name (``"topk__k"``).
        id: the ``SAE_P_...`` number (-1 for arch.layers).
        type: ``"int"``, ``"float"``, ``"bool"``, ``"enum"`` or ``"str"``.
        lo, hi: the bounds (None for str), ``lo_open`` / ``hi_open`` whether
            each bound itself is excluded.
        default: the default value, as :attr:`SparseAutoencoder.config` gives it.
        choices: the names of an enum's values (by number), else ().
        doc: the library's one-line meaning (``sae_param_doc``), or None when
            the loaded library predates that call.
    """
    key: str
    name: str
    id: int
    type: str
    lo: Optional[float]
    hi: Optional[float]
    lo_open: bool
    hi_open: bool
    default: Any
    choices: Tuple[str, ...]
    doc: Optional[str]


_PARAMETERS: Optional[Dict[str, Parameter]] = None


def parameters() -> Dict[str, Parameter]:
    """Every key of the library, in the library's order: key ->
    :class:`Parameter` (type, bounds, default, enum names, one-line doc)."""
    global _PARAMETERS
    if _PARAMETERS is not None:
        return dict(_PARAMETERS)
    cfg = _Config()
    out: Dict[str, Parameter] = {}
    for key, pid in _KEYS.items():
        t, lo, hi, lo_open, hi_open = c_int(), c_double(), c_double(), c_int(), c_int()
        _lib.check(_lib.sae_param_info(pid, byref(t), byref(lo), byref(hi), byref(lo_open),
                                       byref(hi_open)))
        default = cfg.get(key)
        kind = "float" if t.value == _lib.SAE_TYPE_FLOAT else "int"
        choices: Tuple[str, ...] = ()
        if isinstance(default, bool):
            kind = "bool"
        elif isinstance(default, str):
            kind = "enum"
            scratch = _Config()
            names = []
            for v in range(int(lo.value), int(hi.value) + 1):
                _lib.check(_lib.sae_config_set_int(scratch.ptr, pid, v))
                names.append(str(scratch.get(key)))
            choices = tuple(names)
        doc = None
        if _lib.has("sae_param_doc"):
            d = _lib.sae_param_doc(pid)
            doc = d.decode() if d else None
        out[key] = Parameter(key, key_to_param(key), pid, kind, lo.value, hi.value,
                             bool(lo_open.value), bool(hi_open.value), default, choices, doc)
    out[LAYERS_KEY] = Parameter(
        LAYERS_KEY, key_to_param(LAYERS_KEY), -1, "str", None, None, False, False, "", (),
        "layer list of a layered (convolutional) model; empty for the one-hidden-layer model")
    _PARAMETERS = out
    return dict(out)


# --------------------------------------------------------------------------
# Statistics and callbacks
# --------------------------------------------------------------------------

@dataclasses.dataclass
class StepStats:
    """The statistics a progress callback receives (``sae_stats_t``).

    ``kind`` is ``"step"`` (one batch) or ``"epoch"`` (averages over the
    epoch); ``terms`` maps each active term's name ("kl", "l1", "l2", a user
    regularizer's name, "auxk"...) to its weighted value."""
    kind: str
    step: int
    epoch: int
    total_steps: int
    samples: int
    loss: float
    recon_loss: float
    learning_rate: float
    mean_activation: float
    l0: float
    terms: Dict[str, float]

    def as_dict(self) -> Dict[str, Any]:
        """The same as a plain dict."""
        return dataclasses.asdict(self)


def _stats(s: _lib.sae_stats_t, kind: str) -> StepStats:
    n = min(int(s.n_terms), _lib.SAE_MAX_TERMS)
    terms = {}
    for i in range(n):
        name = s.term_name[i]
        terms[name.decode() if name else f"term{i}"] = float(s.term_loss[i])
    return StepStats(kind, int(s.step), int(s.epoch), int(s.total_steps), int(s.samples),
                     float(s.loss), float(s.recon_loss), float(s.learning_rate),
                     float(s.mean_activation), float(s.l0), terms)


ProgressCallback = Callable[[StepStats], Optional[bool]]


class _Progress:
    """The C progress callback: calls the user's, turns False, an exception
    or Ctrl-C into the library's cancel path (non-zero return)."""

    def __init__(self, fn: Optional[ProgressCallback],
                 checkpoint: Optional[Callable[[int], None]] = None) -> None:
        self.fn = fn
        self.checkpoint = checkpoint
        self.exc: Optional[BaseException] = None
        self.stopped = False
        self.interrupted = False
        self.cfunc = _lib.PROGRESS_FN(self)

    def __call__(self, kind: int, stats: Any, user: Any) -> int:
        try:
            if self.interrupted:
                return 1
            if self.checkpoint is not None and kind == _lib.SAE_PROGRESS_STEP:
                self.checkpoint(int(stats.contents.step))
            if self.fn is None:
                return 0
            info = _stats(stats.contents, "epoch" if kind == _lib.SAE_PROGRESS_EPOCH else "step")
            if self.fn(info) is False:
                self.stopped = True
                return 1
            return 0
        except BaseException as exc:  # noqa: B902 - re-raised in the caller
            self.exc = exc
            return 1


# --------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------

def _as_rows(x: ArrayLike, cols: Optional[int], what: str) -> np.ndarray:
    """x as a 2-D float32 C-contiguous array: the array itself when it
    already is one (zero-copy), else one converted copy."""
    a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.ndim != 2:
        raise DimensionError(f"{what}: expected a 2-D array [rows x features], got shape "
                             f"{a.shape}", -6)
    if a.dtype != np.float32 or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a, dtype=np.float32)
    if cols is not None and a.shape[1] != cols:
        raise DimensionError(f"{what}: {a.shape[1]} columns, the model takes {cols}", -6)
    return a


def _out_array(out: Optional[np.ndarray], shape: Tuple[int, ...], dtype: Any,
               what: str) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise ParamTypeError(f"{what}: out= must be a numpy array", -16)
    if out.dtype != np.dtype(dtype):
        raise ParamTypeError(f"{what}: out= has dtype {out.dtype}, expected "
                             f"{np.dtype(dtype)}", -16)
    if out.shape != shape:
        raise DimensionError(f"{what}: out= has shape {out.shape}, expected {shape}", -6)
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{what}: out= must be C-contiguous and writeable")
    return out


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


# --------------------------------------------------------------------------
# Data sources: training from iterators (sae_source_ops_t)
# --------------------------------------------------------------------------

#: What fit accepts besides arrays: an iterator or generator of 2-D arrays
#: (one pass), a callable ``epoch -> iterable of arrays`` (any number of
#: epochs), or any non-sequence iterable of arrays that can be iterated again
#: (a new pass per epoch).
BatchSource = Union[Iterator[ArrayLike], Callable[[int], Iterable[ArrayLike]], Iterable[ArrayLike]]


class DataSource:
    """A data source with the library's own callbacks (``sae_source_ops_t``),
    for full control: subclass it and give it to :meth:`SparseAutoencoder.fit`
    (or :meth:`~SparseAutoencoder.partial_fit`, :meth:`~SparseAutoencoder.resume`).

    ``n_features`` (attribute or property) is the row width. ``reset(epoch)``
    is called before each epoch's first batch; ``next_batch(max_rows)``
    returns up to ``max_rows`` rows as a 2-D array (more is an error), or
    ``None`` or an empty array when the epoch is over. Optional:
    ``row_count()`` (rows per epoch, for the statistics), and the cursor
    pair ``get_cursor() -> bytes`` / ``set_cursor(bytes)``: the source's
    position, saved in checkpoints and restored on resume (without them a
    resumed fit replays the interrupted epoch from ``reset``)."""

    n_features: int

    def reset(self, epoch: int) -> None:
        raise NotImplementedError

    def next_batch(self, max_rows: int) -> Optional[ArrayLike]:
        raise NotImplementedError

    def row_count(self) -> Optional[int]:
        return None

    def get_cursor(self) -> bytes:
        raise NotImplementedError

    def set_cursor(self, cursor: bytes) -> None:
        raise NotImplementedError


class _OpsSource:
    """sae_source_ops_t over a :class:`DataSource`."""

    one_pass = False

    def __init__(self, src: DataSource) -> None:
        self.src = src
        self.dim = int(src.n_features)
        self.exc: Optional[BaseException] = None
        self.cursor = b""
        self._msg = b""
        o = _lib.sae_source_ops_t()
        o.struct_size = ctypes.sizeof(_lib.sae_source_ops_t)
        o.next_batch = _lib.NEXT_BATCH_FN(self._next)
        o.reset = _lib.RESET_FN(self._reset)
        o.errmsg = _lib.SOURCE_ERRMSG_FN(self._errmsg)
        if type(src).row_count is not DataSource.row_count:
            o.row_count = _lib.ROW_COUNT_FN(self._rows)
        if type(src).get_cursor is not DataSource.get_cursor:
            o.cursor_size = _lib.CURSOR_SIZE_FN(self._cursor_size)
            o.save_cursor = _lib.SAVE_CURSOR_FN(self._save)
            o.restore_cursor = _lib.RESTORE_CURSOR_FN(self._restore)
        self.ops = o

    def _guard(self, fn: Callable[[], int]) -> int:
        try:
            return fn()
        except BaseException as exc:  # noqa: B902 - re-raised in the caller
            self.exc = exc
            return 1

    def _reset(self, user: Any, epoch: int) -> int:
        return self._guard(lambda: self.src.reset(int(epoch)) or 0)

    def _next(self, user: Any, out: int, max_rows: int, dim: int, rows: Any) -> int:
        def run() -> int:
            b = self.src.next_batch(int(max_rows))
            n = 0
            if b is not None:
                a = _as_rows(b, dim, "DataSource.next_batch") if np.size(b) else None
                n = 0 if a is None else a.shape[0]
                if n > max_rows:
                    raise DimensionError(f"DataSource.next_batch: {n} rows for at most "
                                         f"{max_rows}", -6)
                if n:
                    ctypes.memmove(out, a.ctypes.data, a.nbytes)
            rows[0] = n
            return 0
        return self._guard(run)

    def _rows(self, user: Any) -> int:
        try:
            n = self.src.row_count()
            return int(n) if n else 0
        except BaseException:  # noqa: B902 - a statistic only
            return 0

    def _cursor_size(self, user: Any) -> int:
        try:
            self.cursor = bytes(self.src.get_cursor())
        except BaseException as exc:  # noqa: B902 - save_cursor then reports it
            self.exc, self.cursor = exc, b""
            return 1  # a byte for save_cursor to fail on
        return len(self.cursor)

    def _save(self, user: Any, buf: int, size: int) -> int:
        if self.exc is not None or size != len(self.cursor):
            return 1
        ctypes.memmove(buf, self.cursor, size)
        return 0

    def _restore(self, user: Any, buf: int, size: int) -> int:
        return self._guard(lambda: self.src.set_cursor(ctypes.string_at(buf, size)) or 0)

    def _errmsg(self, user: Any) -> int:
        self._msg = repr(self.exc).encode()[:200] if self.exc is not None else b""
        return ctypes.cast(ctypes.c_char_p(self._msg), c_void_p).value or 0


def _is_source(X: Any) -> bool:
    if isinstance(X, (np.ndarray, list, tuple)) or hasattr(X, "__array__"):
        return False
    return (isinstance(X, collections.abc.Iterator) or callable(X)
            or isinstance(X, collections.abc.Iterable))


class _IterSource:
    """The library's data-source ops over Python iterables: the arrays they
    yield (any number of rows each) are cut into the batches the library
    asks for. No cursor: a resumed fit replays the epoch (the iterable must
    give the same rows again, in the same order, for that epoch)."""

    def __init__(self, X: BatchSource, epoch: int = 0) -> None:
        self.one_pass = isinstance(X, collections.abc.Iterator)
        self.first_epoch = epoch
        self.X = X
        self.exc: Optional[BaseException] = None
        self.it: Optional[Iterator[Any]] = None
        self.left: Optional[np.ndarray] = None
        self.dim: Optional[int] = None
        self.passes = 0
        first_it = self._open(epoch)
        first = next(first_it, None)
        if first is None:
            raise DimensionError("fit: the data source gave no rows", -6)
        first = _as_rows(first, None, "fit (data source)")
        self.dim = first.shape[1]
        self.pending: Optional[Iterator[Any]] = itertools.chain([first], first_it)
        self.ops = _lib.sae_source_ops_t()
        self.ops.struct_size = ctypes.sizeof(_lib.sae_source_ops_t)
        self.ops.next_batch = _lib.NEXT_BATCH_FN(self._next)
        self.ops.reset = _lib.RESET_FN(self._reset)
        self._msg = b""
        self.ops.errmsg = _lib.SOURCE_ERRMSG_FN(self._errmsg)

    def _open(self, epoch: int) -> Iterator[Any]:
        if self.one_pass:
            if self.passes > 0:
                raise StateError("a generator or iterator gives one pass over the data: pass a "
                                 "callable epoch -> iterable for more epochs", -13)
            self.passes += 1
            return self.X  # type: ignore[return-value]
        if callable(self.X) and not isinstance(self.X, collections.abc.Iterable):
            return iter(self.X(epoch))
        return iter(self.X)  # type: ignore[arg-type]

    def _reset(self, user: Any, epoch: int) -> int:
        try:
            self.left = None
            if self.pending is not None and (self.one_pass or epoch == self.first_epoch):
                self.it, self.pending = self.pending, None
            else:
                self.pending = None
                self.it = self._open(int(epoch))
            return 0
        except BaseException as exc:  # noqa: B902 - re-raised in the caller
            self.exc = exc
            return 1

    def _next(self, user: Any, out: int, max_rows: int, dim: int, rows: Any) -> int:
        try:
            n = 0
            dst = np.ctypeslib.as_array(ctypes.cast(out, ctypes.POINTER(ctypes.c_float)),
                                        shape=(max_rows, dim))
            while n < max_rows:
                if self.left is None or self.left.shape[0] == 0:
                    nxt = next(self.it, None) if self.it is not None else None
                    if nxt is None:
                        break
                    self.left = _as_rows(nxt, dim, "fit (data source)")
                    continue
                k = min(max_rows - n, self.left.shape[0])
                dst[n:n + k] = self.left[:k]
                self.left = self.left[k:]
                n += k
            rows[0] = n
            return 0
        except BaseException as exc:  # noqa: B902 - re-raised in the caller
            self.exc = exc
            return 1

    def _errmsg(self, user: Any) -> int:
        self._msg = repr(self.exc).encode()[:200] if self.exc is not None else b""
        return ctypes.cast(ctypes.c_char_p(self._msg), c_void_p).value or 0


# --------------------------------------------------------------------------
# Handles
# --------------------------------------------------------------------------

class _Handle:
    """Owns one sae_model_t and, once needed, its sae_trainer_t. Freed when
    the last reference goes (numpy views of the tensors hold one)."""

    def __init__(self, model: int) -> None:
        self.model = model
        self.trainer: Optional[int] = None
        # Re-entrant: a progress callback may save a checkpoint mid-fit.
        self.lock = threading.RLock()

    def get_trainer(self) -> int:
        if self.trainer is None:
            p = c_void_p()
            _lib.check(_lib.sae_trainer_create(self.model, byref(p)))
            self.trainer = p.value
        return self.trainer  # type: ignore[return-value]

    def errmsg(self) -> str:
        return _lib._text(_lib.sae_model_errmsg(self.model))

    def trainer_errmsg(self) -> str:
        return _lib._text(_lib.sae_trainer_errmsg(self.trainer))

    def __del__(self) -> None:
        if getattr(self, "trainer", None):
            _lib.sae_trainer_free(self.trainer)
            self.trainer = None
        if getattr(self, "model", None):
            _lib.sae_model_free(self.model)
            self.model = None


def _tensor_view(h: _Handle, name: str, rows: int, cols: int, data: int) -> np.ndarray:
    n = rows * cols
    buf = (ctypes.c_float * n).from_address(data) if n else (ctypes.c_float * 0)()
    buf._owner = h  # type: ignore[attr-defined]  # keeps the model alive
    arr = np.frombuffer(buf, dtype=np.float32)
    arr = arr.reshape((n,) if (cols == 1 and name.endswith("bias")) else (rows, cols))
    arr.flags.writeable = False
    return arr


class Tensors(Mapping):  # type: ignore[type-arg]
    """Read-only mapping of a model's tensors: name (``"encoder.weight"``,
    ``"decoder.bias"``, ``"layers.0.weight"``...) -> a read-only float32
    numpy view of the library's own memory, no copy.

    A view keeps its model alive: it stays valid as long as it exists, even
    after the estimator is refitted or deleted (it then shows the old
    model's weights). Training the same model further (``partial_fit``,
    ``set_tensor``) changes the values a view shows; take ``.copy()`` to
    keep a snapshot. Shapes: biases 1-D, weights [rows x cols] as the
    library stores them (``encoder.weight`` [hidden x input])."""

    def __init__(self, handle: _Handle) -> None:
        self._h = handle

    def _names(self) -> List[str]:
        names = []
        n = _lib.sae_model_tensor_count(self._h.model)
        for i in range(n):
            name = c_char_p()
            _lib.check(_lib.sae_model_tensor(self._h.model, i, byref(name), None, None, None))
            names.append(name.value.decode())
        return names

    def __getitem__(self, name: str) -> np.ndarray:
        rows, cols, data = c_size_t(), c_size_t(), c_void_p()
        _lib.check(_lib.sae_model_tensor_by_name(self._h.model, _b(name), byref(rows),
                                                 byref(cols), byref(data)))
        return _tensor_view(self._h, name, rows.value, cols.value, data.value or 0)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return int(_lib.sae_model_tensor_count(self._h.model))


class ConfigView(MutableMapping):  # type: ignore[type-arg]
    """A dict view of an estimator's configuration: library key -> value
    (int, float, bool, or str for enum names and arch.layers).

    Setting a key goes through the library's validation (``sae_config_set``:
    :class:`~libsae.UnknownKeyError`, :class:`~libsae.BadValueError`,
    :class:`~libsae.RangeError`) and is the same as ``set_params``: it
    applies to the next :meth:`SparseAutoencoder.fit`. Keys cannot be
    deleted."""

    def __init__(self, est: "SparseAutoencoder") -> None:
        self._est = est

    def __getitem__(self, key: str) -> Any:
        if key not in _KEYS and key != LAYERS_KEY:
            raise UnknownKeyError(f"unknown config key '{key}'", -4)
        if key == "arch.input_dim" and self._est._handle is not None:
            return int(_lib.sae_model_input_dim(self._est._handle.model))
        return self._est._cfg.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._est._set(key, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("config keys cannot be deleted; set the default instead")

    def __iter__(self) -> Iterator[str]:
        return iter(_all_keys())

    def __len__(self) -> int:
        return len(_KEYS) + 1

    def __repr__(self) -> str:
        return "ConfigView(" + repr(dict(self)) + ")"


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# User regularizers in Python (sae_regularizer_ops_t)
# --------------------------------------------------------------------------

#: Live regularizers by the user_data key the library holds: an entry stays
#: until the library's destroy call (the last config or model holding it
#: freed), so that its name bytes and functions outlive every use.
_REGULARIZERS: Dict[int, "Regularizer"] = {}
_REG_KEYS = itertools.count(1)


def _reg_penalty(user: Any, h: int, rows: int, units: int, weight: float, grad: int) -> float:
    reg = _REGULARIZERS.get(int(user or 0))
    if reg is None:
        return float("nan")
    try:
        hv = np.ctypeslib.as_array(ctypes.cast(h, ctypes.POINTER(ctypes.c_float)),
                                   shape=(rows, units))
        hv.flags.writeable = False
        value = float(reg.penalty(hv))
        if grad:
            g = np.asarray(reg.gradient(hv), dtype=np.float32)
            if g.shape != (rows, units):
                raise DimensionError(f"regularizer '{reg.name}': gradient of shape {g.shape}, "
                                     f"expected {(rows, units)}", -6)
            gv = np.ctypeslib.as_array(ctypes.cast(grad, ctypes.POINTER(ctypes.c_float)),
                                       shape=(rows, units))
            gv += np.float32(weight) * g
        return value
    except BaseException as exc:  # noqa: B902 - re-raised by the call that trained
        reg.exc = exc
        return float("nan")


def _reg_destroy(user: Any) -> None:
    _REGULARIZERS.pop(int(user or 0), None)


# One pair of C callbacks for every regularizer, alive as long as the module.
_PENALTY_CB = _lib.PENALTY_FN(_reg_penalty)
_DESTROY_CB = _lib.DESTROY_FN(_reg_destroy)


class Regularizer:
    """A sparsity regularizer written in Python, added to the objective at
    the code through the library's own table (``sae_config_add_regularizer``),
    as the built-in ones are.

    Args:
        name: a short name; the progress statistics report the term under it.
        penalty: ``penalty(h) -> float``, the unweighted penalty P(h) of a
            batch's code ``h`` (a read-only float32 array [rows, units],
            valid during the call only).
        gradient: ``gradient(h) -> array [rows, units]``, dP/dh; the library
            multiplies it by the weight.
        weight: the term's weight (>= 0).

    An exception raised by either function stops the fit and is re-raised
    from it (the library sees a non-finite penalty). Configs with a user
    regularizer cannot be checkpointed (files do not store functions).
    """

    def __init__(self, name: str, penalty: Callable[[np.ndarray], float],
                 gradient: Callable[[np.ndarray], Any], weight: float = 1.0) -> None:
        self.name = name
        self.penalty = penalty
        self.gradient = gradient
        self.weight = float(weight)
        self.exc: Optional[BaseException] = None

    def __repr__(self) -> str:
        return f"Regularizer({self.name!r}, weight={self.weight!r})"

    def _ops(self) -> Tuple[int, "_lib.sae_regularizer_ops_t"]:
        key = next(_REG_KEYS)
        self._name_b = _b(self.name)
        ops = _lib.sae_regularizer_ops_t()
        ops.struct_size = ctypes.sizeof(ops)
        ops.name = self._name_b
        ops.penalty = _PENALTY_CB
        ops.destroy = _DESTROY_CB
        _REGULARIZERS[key] = self
        return key, ops

    def _add_to(self, cfg: "_Config") -> None:
        key, ops = self._ops()
        st = _lib.sae_config_add_regularizer(cfg.ptr, byref(ops), c_void_p(key),
                                             c_float(self.weight))
        if st != 0:
            _REGULARIZERS.pop(key, None)
        _lib.check(st, _lib._text(_lib.sae_config_errmsg(cfg.ptr)))

    def gradcheck(self, rows: int = 8, units: int = 16, seed: int = 0) -> float:
        """The library's gradient check of this regularizer
        (``sae_regularizer_gradcheck``) on a random code: the relative
        difference between ``gradient`` and central differences of
        ``penalty`` (about 1e-4 or less when right, 0.1 or more when wrong)."""
        key, ops = self._ops()
        err = c_double()
        try:
            st = _lib.sae_regularizer_gradcheck(byref(ops), c_void_p(key), rows, units, seed,
                                                byref(err))
        finally:
            _REGULARIZERS.pop(key, None)
        if self.exc is not None:
            exc, self.exc = self.exc, None
            raise exc
        _lib.check(st)
        return float(err.value)


class SparseAutoencoder:
    """A libsae sparse autoencoder with the scikit-learn estimator protocol.

    Args:
        config: library keys and values, ``{"arch.hidden_dim": 64,
            "topk.k": 8}`` (every key is in :func:`libsae.parameters`).
        epochs: passes over the data of a plain :meth:`fit` (like
            scikit-learn's ``max_iter``).
        **params: the same keys as scikit-learn parameter names, the dot
            written as a double underscore: ``arch__hidden_dim=64``,
            ``topk__k=8``, ``optim__lr=1e-3``.

    Every value is checked by the library when set (``UnknownKeyError``,
    ``BadValueError``, ``RangeError``). ``arch.input_dim`` is taken from the
    data at :meth:`fit`.

    Arrays: float32 C-contiguous inputs are handed to the library without a
    copy; any other dtype or layout is converted once to float32
    C-contiguous. Outputs are new float32 arrays, or the ``out=`` array when
    given (checked for shape, dtype float32 and C-contiguity).

    Threads: the GIL is released while the library computes, so other Python
    threads run during :meth:`fit` and :meth:`encode`; one estimator must be
    used by one thread at a time (a lock enforces it for the long calls).
    """

    def __init__(self, config: Optional[Mapping[str, Any]] = None, *, epochs: int = 10,
                 regularizers: Sequence["Regularizer"] = (), **params: Any) -> None:
        self.epochs = epochs
        self._values: Dict[str, Any] = {}
        self._cfg = _Config()
        self._handle: Optional[_Handle] = None
        self._regs: Tuple[Regularizer, ...] = ()
        for key, value in (config or {}).items():
            self._set(param_to_key(key), value)
        for name, value in params.items():
            self._set(param_to_key(name), value)
        self._set_regularizers(regularizers)

    def _set_regularizers(self, regs: Sequence["Regularizer"]) -> None:
        regs = tuple(regs or ())
        for r in regs:
            if not isinstance(r, Regularizer):
                raise ParamTypeError(f"regularizers: {r!r} is not a libsae.Regularizer", -16)
        if self._regs:  # the library cannot take one back: a fresh config
            cfg = _Config()
            for key, value in self._values.items():
                cfg.set(key, value)
            self._cfg = cfg
        for r in regs:
            r._add_to(self._cfg)
        self._regs = regs

    # -- parameters --------------------------------------------------------

    def _set(self, key: str, value: Any) -> None:
        if key not in _KEYS and key != LAYERS_KEY:
            raise UnknownKeyError(f"unknown config key '{key}' (parameter name "
                                  f"'{key_to_param(key)}')", -4)
        self._cfg.set(key, value)
        self._values[key] = value

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The estimator's parameters: ``epochs`` and every library key as a
        scikit-learn name (``arch__hidden_dim``), the values as given or the
        library's defaults. ``arch__input_dim`` only when it was given (it is
        otherwise taken from the data)."""
        out: Dict[str, Any] = {"epochs": self.epochs, "regularizers": self._regs}
        defaults = parameters()
        for key in _all_keys():
            if key in self._values:
                out[key_to_param(key)] = self._values[key]
            elif key != "arch.input_dim":
                out[key_to_param(key)] = defaults[key].default
        return out

    def set_params(self, **params: Any) -> "SparseAutoencoder":
        """Sets parameters by scikit-learn name (``topk__k=16``, ``epochs=5``)
        or library key; each is validated by the library. Applies to the next
        :meth:`fit`. Returns self."""
        for name, value in params.items():
            if name == "epochs":
                self.epochs = value
            elif name == "regularizers":
                self._set_regularizers(value)
            elif name == "config":
                for k, v in (value or {}).items():
                    self._set(param_to_key(k), v)
            else:
                self._set(param_to_key(name), value)
        return self

    @property
    def config(self) -> ConfigView:
        """A dict view of the configuration (see :class:`ConfigView`)."""
        return ConfigView(self)

    def __repr__(self) -> str:
        given = ", ".join(f"{key_to_param(k)}={v!r}" for k, v in self._values.items())
        return f"SparseAutoencoder(epochs={self.epochs!r}{', ' if given else ''}{given})"

    # -- state -------------------------------------------------------------

    def _need(self) -> _Handle:
        if self._handle is None:
            raise StateError("this SparseAutoencoder is not fitted yet: call fit, "
                             "partial_fit or libsae.load first", -13)
        return self._handle

    @property
    def n_features_in_(self) -> int:
        """Input features of the fitted model (``arch.input_dim``)."""
        h = self._handle
        if h is None:
            raise AttributeError("n_features_in_: not fitted")
        return int(_lib.sae_model_input_dim(h.model))

    @property
    def code_dim_(self) -> int:
        """Code units of the fitted model (the width of :meth:`encode`)."""
        return int(_lib.sae_model_code_dim(self._need().model))

    @property
    def steps_(self) -> int:
        """Optimizer steps taken by the model's trainer so far
        (``sae_trainer_steps``); 0 for a model never trained here."""
        h = self._need()
        return 0 if h.trainer is None else int(_lib.sae_trainer_steps(h.trainer))

    @property
    def layer_shapes_(self) -> List[Tuple[int, int, int]]:
        """Output shape [channels, height, width] of each layer of a layered
        model (``arch.layers``); [] for the one-hidden-layer model."""
        h = self._need()
        out = []
        for i in range(int(_lib.sae_model_layer_count(h.model))):
            c, hh, w = c_size_t(), c_size_t(), c_size_t()
            _lib.check(_lib.sae_model_layer_shape(h.model, i, byref(c), byref(hh), byref(w)))
            out.append((c.value, hh.value, w.value))
        return out

    def _new_model(self, input_dim: int) -> _Handle:
        given = self._values.get("arch.input_dim")
        if given is not None and int(given) != input_dim and not self._cfg.get(LAYERS_KEY):
            raise DimensionError(f"X has {input_dim} columns but arch.input_dim is {given}", -6)
        cfg = self._cfg.clone()
        if not cfg.get(LAYERS_KEY):
            cfg.set("arch.input_dim", input_dim)
        p = c_void_p()
        _lib.check(_lib.sae_model_create(cfg.ptr, byref(p)))
        h = _Handle(p.value)
        if int(_lib.sae_model_input_dim(h.model)) != input_dim:
            raise DimensionError(f"X has {input_dim} columns, the layer list's input takes "
                                 f"{int(_lib.sae_model_input_dim(h.model))}", -6)
        h.get_trainer()
        return h

    # -- training ----------------------------------------------------------

    def _train(self, h: _Handle, x: Any, epochs: Optional[int], steps: Optional[int],
               callback: Optional[ProgressCallback], checkpoint: Optional[PathLike] = None,
               checkpoint_every: int = 0) -> None:
        tr = h.get_trainer()
        save = None
        if checkpoint is not None and checkpoint_every > 0:
            path = _b(os.fspath(checkpoint))

            def save(step: int) -> None:
                if step % checkpoint_every == 0:
                    _lib.check(_lib.sae_trainer_save_checkpoint(tr, path), h.trainer_errmsg())
        prog = _Progress(callback, save)
        # Ctrl-C during the fit: noted by our handler, acted on by the
        # progress callback (the library's cancel path), re-raised here.
        old = None
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    def on_sigint(signum: int, frame: Any) -> None:
                        prog.interrupted = True
                    old = signal.signal(signal.SIGINT, on_sigint)
            except ValueError:
                old = None
        with h.lock:
            try:
                _lib.check(_lib.sae_trainer_set_callback(tr, prog.cfunc, None),
                           h.trainer_errmsg())
                if isinstance(x, (_IterSource, _OpsSource)):
                    st = _lib.sae_trainer_fit_source(tr, byref(x.ops), None, int(epochs or 0),
                                                     int(steps or 0))
                elif steps is not None:
                    st = _lib.sae_trainer_fit_steps(tr, _ptr(x), x.shape[0], int(steps))
                else:
                    st = _lib.sae_trainer_fit(tr, _ptr(x), x.shape[0], int(epochs or 0))
                msg = h.trainer_errmsg()
                _lib.sae_trainer_set_callback(tr, _lib.PROGRESS_FN(), None)
            finally:
                if old is not None:
                    signal.signal(signal.SIGINT, old)
        if prog.exc is not None:
            raise prog.exc
        if isinstance(x, (_IterSource, _OpsSource)) and x.exc is not None:
            raise x.exc
        for r in self._regs:
            if r.exc is not None:
                exc, r.exc = r.exc, None
                raise exc
        if prog.interrupted:
            raise KeyboardInterrupt
        if st == -12 and prog.stopped:
            return
        _lib.check(st, msg)

    def _data(self, X: Any, what: str, cols: Optional[int]) -> Tuple[Any, int]:
        if isinstance(X, DataSource):
            ops = _OpsSource(X)
            if cols is not None and ops.dim != cols:
                raise DimensionError(f"{what}: {ops.dim} columns, the model takes {cols}", -6)
            return ops, ops.dim
        if _is_source(X):
            h = self._handle
            epoch = 0 if h is None or h.trainer is None or cols is None else \
                int(_lib.sae_trainer_epochs(h.trainer))
            src = _IterSource(X, epoch)
            if cols is not None and src.dim != cols:
                raise DimensionError(f"{what}: {src.dim} columns, the model takes {cols}", -6)
            return src, src.dim  # type: ignore[return-value]
        x = _as_rows(X, cols, what)
        return x, x.shape[1]

    def fit(self, X: Union[ArrayLike, BatchSource], y: Any = None, *,
            epochs: Optional[int] = None, steps: Optional[int] = None,
            callback: Optional[ProgressCallback] = None,
            checkpoint: Optional[PathLike] = None,
            checkpoint_every: int = 0) -> "SparseAutoencoder":
        """Trains a new model on X [rows x features] (``y`` is ignored).

        A fresh model is made from the configuration (``arch.input_dim`` =
        X's columns) and trained for ``epochs`` passes (default: the
        constructor's ``epochs``), or for exactly ``steps`` batches when
        given (``sae_trainer_fit`` / ``sae_trainer_fit_steps``).

        X may also be a data source, for data that does not fit in memory
        (``sae_trainer_fit_source``): an iterator or generator of 2-D arrays
        (one pass: ``epochs`` defaults to 1 and may not exceed it), a
        callable ``epoch -> iterable of arrays`` (a new pass per epoch), or a
        re-iterable object of arrays. Arrays of any row count are cut into
        the configured batches; ``train.sampling`` does not apply. An
        exception raised by the source cancels the fit and is re-raised.

        ``callback(stats: StepStats)`` is called after every step and every
        epoch. Returning ``False`` stops training early (fit returns
        normally); an exception raised by it, or Ctrl-C, cancels the fit
        through the library's cancel path and is re-raised here. In both
        cases the model keeps the weights of the last completed step and
        stays usable. X float32 C-contiguous is used without a copy.

        With ``checkpoint`` and ``checkpoint_every = N``, a checkpoint
        (:meth:`save_checkpoint`) is written to that path every N steps.

        Returns self.
        """
        x, dim = self._data(X, "fit", None)
        if isinstance(x, (_IterSource, _OpsSource)) and epochs is None and steps is None:
            epochs = 1 if x.one_pass else self.epochs
        if isinstance(x, (_IterSource, _OpsSource)) and x.one_pass and (epochs or 0) > 1:
            raise StateError("fit: a generator or iterator gives one pass over the data: pass a "
                             "callable epoch -> iterable for more epochs", -13)
        h = self._new_model(dim)
        self._handle = h
        self._train(h, x, self.epochs if epochs is None else epochs, steps, callback,
                    checkpoint, checkpoint_every)
        return self

    def partial_fit(self, X: Union[ArrayLike, BatchSource], y: Any = None, *,
                    callback: Optional[ProgressCallback] = None) -> "SparseAutoencoder":
        """One more pass over X with the current model and its optimizer
        state (a new model first when not fitted); X may be a data source
        as in :meth:`fit`. Returns self."""
        cols = None if self._handle is None else self.n_features_in_
        x, dim = self._data(X, "partial_fit", cols)
        if self._handle is None:
            self._handle = self._new_model(dim)
        self._train(self._handle, x, 1, None, callback)
        return self

    def resume(self, X: Union[ArrayLike, BatchSource], *, total_steps: Optional[int] = None,
               total_epochs: Optional[int] = None,
               callback: Optional[ProgressCallback] = None,
               checkpoint: Optional[PathLike] = None,
               checkpoint_every: int = 0) -> "SparseAutoencoder":
        """Continues training the current model (typically one from
        :func:`libsae.load_checkpoint`) until its trainer has taken
        ``total_steps`` steps or completed ``total_epochs`` epochs, counted
        from the start of the run: with the data and the thread count of the
        interrupted run, the result is bit-identical to the run never
        interrupted. For an in-memory X an epoch is ceil(rows / batch_size)
        steps. Nothing happens when the total is already reached. Returns
        self."""
        if (total_steps is None) == (total_epochs is None):
            raise ValueError("resume: give exactly one of total_steps, total_epochs")
        h = self._need()
        x, _ = self._data(X, "resume", self.n_features_in_)
        tr = h.get_trainer()
        done_steps = int(_lib.sae_trainer_steps(tr))
        done_epochs = int(_lib.sae_trainer_epochs(tr))
        if total_steps is not None:
            left = int(total_steps) - done_steps
            if left > 0:
                self._train(h, x, None, left, callback, checkpoint, checkpoint_every)
            return self
        if isinstance(x, (_IterSource, _OpsSource)):
            left = int(total_epochs) - done_epochs  # type: ignore[arg-type]
            if left > 0:
                self._train(h, x, left, None, callback, checkpoint, checkpoint_every)
            return self
        bs = int(self.config["train.batch_size"])
        per_epoch = (x.shape[0] + bs - 1) // bs
        left = int(total_epochs) * per_epoch - done_steps  # type: ignore[arg-type]
        if left > 0:
            self._train(h, x, None, left, callback, checkpoint, checkpoint_every)
        return self

    def save_checkpoint(self, path: PathLike) -> None:
        """Saves a checkpoint (``sae_trainer_save_checkpoint``): the model
        and everything its trainer's next step reads (optimizer moments,
        counters, random state, data position, dead-latent counts).
        :func:`libsae.load_checkpoint` resumes from it; :func:`libsae.load`
        reads its model. May be called from a progress callback. Atomic.
        Errors: ``IoError``, ``UnsupportedError`` (user regularizers)."""
        h = self._need()
        with h.lock:
            tr = h.get_trainer()
            st = _lib.sae_trainer_save_checkpoint(tr, _b(os.fspath(path)))
            msg = h.trainer_errmsg() if st else ""
        _lib.check(st, msg)

    @property
    def epochs_(self) -> int:
        """Epochs the model's trainer has completed (``sae_trainer_epochs``)."""
        h = self._need()
        return 0 if h.trainer is None else int(_lib.sae_trainer_epochs(h.trainer))

    def fit_transform(self, X: ArrayLike, y: Any = None, **fit_params: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` of the same X."""
        return self.fit(X, y, **fit_params).transform(X)

    # -- inference -----------------------------------------------------------

    def _call(self, fn: Any, h: _Handle, *args: Any) -> None:
        with h.lock:
            st = fn(h.model, *args)
            msg = h.errmsg() if st else ""
        _lib.check(st, msg)

    def encode(self, X: ArrayLike, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        """The code [rows x code_dim] of X [rows x features]
        (``sae_model_encode``; top-k models keep round(topk.alpha * k) units
        per row). X float32 C-contiguous is read in place; ``out`` receives
        the code when given."""
        self._need()
        return self._infer(_lib.sae_model_encode, X, self.n_features_in_, self.code_dim_, out,
                           "encode")

    transform = encode

    def decode(self, Z: ArrayLike, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        """The reconstruction [rows x features] of codes Z [rows x code_dim]
        (``sae_model_decode``, after the output activation)."""
        self._need()
        return self._infer(_lib.sae_model_decode, Z, self.code_dim_, self.n_features_in_, out,
                           "decode")

    inverse_transform = decode

    def reconstruct(self, X: ArrayLike, *, out: Optional[np.ndarray] = None) -> np.ndarray:
        """decode(encode(X)) in one call (``sae_model_reconstruct``)."""
        self._need()
        return self._infer(_lib.sae_model_reconstruct, X, self.n_features_in_,
                           self.n_features_in_, out, "reconstruct")

    def _infer(self, fn, A: ArrayLike, in_dim: int, out_dim: int,
               out: Optional[np.ndarray], what: str) -> np.ndarray:
        """The three inference calls: rows of A [rows x in_dim] in place when
        float32 C-contiguous, the result [rows x out_dim] into ``out`` or a
        new float32 array."""
        h = self._need()
        a = _as_rows(A, in_dim, what)
        o = _out_array(out, (a.shape[0], out_dim), np.float32, what)
        self._call(fn, h, _ptr(a), a.shape[0], _ptr(o))
        return o

    def encode_binary(self, X: ArrayLike, k: int = 0, *,
                      out: Optional[np.ndarray] = None) -> np.ndarray:
        """K-winners-take-all binary codes, uint8 [rows x code_dim]: 1 for
        the k largest units of each row (``sae_model_encode_binary``; k = 0
        takes ``encode.k``)."""
        h = self._need()
        x = _as_rows(X, self.n_features_in_, "encode_binary")
        o = _out_array(out, (x.shape[0], self.code_dim_), np.uint8, "encode_binary")
        self._call(_lib.sae_model_encode_binary, h, _ptr(x), x.shape[0], int(k),
                   o.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        return o

    def prefix_errors(self, X: ArrayLike, ks: Sequence[int]) -> np.ndarray:
        """Mean reconstruction error from each row's top-k units, for each k
        of ``ks`` (``sae_model_prefix_errors``), float64 [len(ks)]."""
        h = self._need()
        x = _as_rows(X, self.n_features_in_, "prefix_errors")
        kk = (c_size_t * len(ks))(*[int(k) for k in ks])
        errs = (c_double * len(ks))()
        self._call(_lib.sae_model_prefix_errors, h, _ptr(x), x.shape[0], kk, len(ks), errs)
        return np.array(errs[:], dtype=np.float64)

    def init_decoder_bias(self, X: ArrayLike, method: str = "mean") -> "SparseAutoencoder":
        """Sets decoder.bias from the rows of X: ``"zero"``, ``"mean"`` or
        ``"geometric_median"`` (``sae_model_init_decoder_bias``). Returns
        self."""
        methods = {"zero": 0, "mean": 1, "geometric_median": 2}
        if method not in methods:
            raise ValueError(f"method must be one of {sorted(methods)}")
        h = self._need()
        x = _as_rows(X, self.n_features_in_, "init_decoder_bias")
        self._call(_lib.sae_model_init_decoder_bias, h, _ptr(x), x.shape[0], methods[method])
        return self

    # -- evaluation --------------------------------------------------------

    def evaluate(self, X: ArrayLike) -> Dict[str, Any]:
        """The training objective on X without updating anything
        (``sae_trainer_evaluate``): a dict with ``loss``, ``recon_loss``,
        ``terms`` (name -> weighted value), ``l0``, ``mean_activation``,
        ``learning_rate``, ``step``, ``epoch``, ``samples``."""
        h = self._need()
        x = _as_rows(X, self.n_features_in_, "evaluate")
        s = _lib.sae_stats_t()
        with h.lock:
            tr = h.get_trainer()
            st = _lib.sae_trainer_evaluate(tr, _ptr(x), x.shape[0], byref(s))
            msg = h.trainer_errmsg() if st else ""
        _lib.check(st, msg)
        d = _stats(s, "evaluate").as_dict()
        del d["kind"], d["total_steps"]
        return d

    def metrics(self, X: ArrayLike, *, dead_after: int = 0) -> Dict[str, Any]:
        """Evaluation metrics on X: ``nmse`` and ``explained_variance``
        (``sae_model_reconstruction_error``; X needs 2 or more varying rows),
        ``l0`` (mean active units per row, as ``evaluate``), and from the
        training so far (``sae_trainer_unit_activity``): ``frequency`` (each
        unit's firing rate, float64 [code_dim]) and ``dead_fraction`` (units
        not active in the last ``dead_after`` training rows; never active
        when 0)."""
        h = self._need()
        x = _as_rows(X, self.n_features_in_, "metrics")
        nmse, ev = c_double(), c_double()
        self._call(_lib.sae_model_reconstruction_error, h, _ptr(x), x.shape[0], byref(nmse),
                   byref(ev))
        units = self.code_dim_
        freq = np.zeros(units, dtype=np.float64)
        dead = c_double()
        with h.lock:
            tr = h.get_trainer()
            st = _lib.sae_trainer_unit_activity(
                tr, freq.ctypes.data_as(ctypes.POINTER(c_double)), units, int(dead_after),
                byref(dead))
            msg = h.trainer_errmsg() if st else ""
        _lib.check(st, msg)
        return {"nmse": nmse.value, "explained_variance": ev.value,
                "l0": self.evaluate(x)["l0"], "dead_fraction": dead.value, "frequency": freq}

    def eval_metrics(self, X: Union[ArrayLike, Iterable[ArrayLike]], *, hist_range:
                     Tuple[float, float] = (-8.0, 0.0), bins: int = 32) -> Dict[str, Any]:
        """The standard evaluation metrics of the model on the rows of X
        (``sae_metrics_*``, docs/metrics.md): X is one 2-D array, or an
        iterable of 2-D arrays (chunks, e.g. read from a file larger than
        memory) that are accumulated in one pass. Returns a dict with every
        ``sae_metrics_summary_t`` field (``rows``, ``units``, ``l0``,
        ``mse``, ``fvu``, ``explained_variance``, ``cosine``, ``l2_ratio``,
        ``rel_bias``, ``dead_fraction``, ``dense_fraction``, ``dead_units``,
        ``dense_units``; NaN where undefined), ``frequency`` (each latent's
        firing rate, float64 [code_dim]), and ``log10_histogram`` (counts of
        log10 frequency of the latents that fired, ``bins`` bins over
        ``hist_range``, edge bins taking values outside) with
        ``histogram_edges`` (float64 [bins + 1]). StateError when no rows
        were given."""
        h = self._need()
        if not _lib.has("sae_metrics_create"):
            raise UnsupportedError("this libsae has no sae_metrics calls (0.4 does)")
        # One array (an ndarray, or nested lists of numbers), or chunks (an
        # iterator, or a list of 2-D arrays).
        one = isinstance(X, np.ndarray) or not isinstance(X, collections.abc.Iterable) or (
            isinstance(X, (list, tuple)) and len(X) > 0 and
            not (isinstance(X[0], np.ndarray) and X[0].ndim == 2))
        chunks = [X] if one else X
        mx = c_void_p()
        _lib.check(_lib.sae_metrics_create(h.model, byref(mx)))
        try:
            def check(st: int) -> None:
                _lib.check(st, _lib._text(_lib.sae_metrics_errmsg(mx)) if st else "")
            for chunk in chunks:
                x = _as_rows(chunk, self.n_features_in_, "eval_metrics")
                with h.lock:
                    st = _lib.sae_metrics_add(mx, _ptr(x), x.shape[0])
                check(st)
            s = _lib.sae_metrics_summary_t()
            s.struct_size = ctypes.sizeof(s)
            check(_lib.sae_metrics_summary(mx, byref(s)))
            out: Dict[str, Any] = {name: getattr(s, name) for name, _ in s._fields_
                                   if name != "struct_size"}
            units = int(s.units)
            freq = np.zeros(units, dtype=np.float64)
            check(_lib.sae_metrics_frequency(mx, freq.ctypes.data_as(
                ctypes.POINTER(c_double)), units))
            counts = np.zeros(int(bins), dtype=np.uint64)
            lo, hi = float(hist_range[0]), float(hist_range[1])
            check(_lib.sae_metrics_histogram(mx, lo, hi, int(bins), counts.ctypes.data_as(
                ctypes.POINTER(ctypes.c_uint64))))
            out["frequency"] = freq
            out["log10_histogram"] = counts
            out["histogram_edges"] = np.linspace(lo, hi, int(bins) + 1)
            return out
        finally:
            _lib.sae_metrics_free(mx)

    def gradcheck(self, X: ArrayLike, *, double: bool = False) -> Union[float, Tuple[float, float]]:
        """Gradient check on a batch X (rows <= train.batch_size):
        ``sae_trainer_gradcheck``'s max relative error, or with
        ``double=True`` ``sae_trainer_gradcheck_double``'s (rel_diff,
        float_rel_diff)."""
        h = self._need()
        x = _as_rows(X, self.n_features_in_, "gradcheck")
        a, b = c_double(), c_double()
        with h.lock:
            tr = h.get_trainer()
            if double:
                st = _lib.sae_trainer_gradcheck_double(tr, _ptr(x), x.shape[0], byref(a),
                                                       byref(b))
            else:
                st = _lib.sae_trainer_gradcheck(tr, _ptr(x), x.shape[0], byref(a))
            msg = h.trainer_errmsg() if st else ""
        _lib.check(st, msg)
        return (a.value, b.value) if double else a.value

    # -- weights and files ---------------------------------------------------

    @property
    def tensors(self) -> Tensors:
        """The model's weights as read-only numpy views, no copy (see
        :class:`Tensors` for how long a view is valid)."""
        return Tensors(self._need())

    def set_tensor(self, name: str, array: ArrayLike) -> None:
        """Replaces tensor ``name`` with ``array`` (its shape: 1-D for a
        bias, [rows x cols] for a weight) through
        ``sae_model_set_tensor``: ``UnknownKeyError``, ``DimensionError``,
        ``NonFiniteError``; ``LibraryVersionError`` with a library older
        than 0.4. The array is copied into the model."""
        h = self._need()
        a = np.asarray(array)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2:
            raise DimensionError(f"set_tensor: a 1-D or 2-D array, got shape {a.shape}", -6)
        a = np.ascontiguousarray(a, dtype=np.float32)
        self._call(_lib.sae_model_set_tensor, h, _b(name), a.shape[0], a.shape[1], _ptr(a))

    def save(self, path: PathLike) -> None:
        """Saves the model (config, weights, checksum) as a safetensors file,
        atomically (``sae_model_save``); :func:`libsae.load` reads it back,
        and so does the C library."""
        h = self._need()
        st = _lib.sae_model_save(h.model, _b(os.fspath(path)))
        _lib.check(st, h.errmsg() if st else "")

    def export(self, path: PathLike, format: str = "saelens") -> None:
        """Writes the model as another tool reads it (``sae_model_export``):
        ``"saelens"`` a folder that SAELens's ``SAE.load_from_disk`` reads,
        ``"sparsify"`` one for sparsify's ``SparseCoder.load_from_disk``.
        :func:`libsae.load` reads both back. ``UnsupportedError`` (with the
        reason) for a model the format cannot express."""
        h = self._need()
        _lib.check(_lib.sae_model_export(h.model, _b(os.fspath(path)), _b(format)))

    def __getstate__(self) -> Dict[str, Any]:
        state = {"epochs": self.epochs, "values": dict(self._values), "model": None}
        if self._handle is not None:
            with tempfile.TemporaryDirectory() as tmp:
                p = os.path.join(tmp, "m.safetensors")
                self.save(p)
                with open(p, "rb") as f:
                    state["model"] = f.read()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__init__(state["values"], epochs=state["epochs"])  # type: ignore[misc]
        if state["model"] is not None:
            with tempfile.TemporaryDirectory() as tmp:
                p = os.path.join(tmp, "m.safetensors")
                with open(p, "wb") as f:
                    f.write(state["model"])
                self._handle = _load_handle(p)


def _load_handle(path: PathLike, fmt: Optional[str] = None) -> _Handle:
    p = c_void_p()
    path = os.fspath(path)
    if fmt is None and os.path.isfile(path) and not path.endswith(".npz"):
        _lib.check(_lib.sae_model_load(_b(path), byref(p)))
    else:
        if not _lib.has("sae_model_import"):
            raise UnsupportedError("this libsae reads no other tool's files (0.4 does)")
        _lib.check(_lib.sae_model_import(_b(path), _b(fmt) if fmt else None, byref(p)))
    return _Handle(p.value)


def _estimator_of(h: _Handle, epochs: int) -> SparseAutoencoder:
    cfgp = _lib.sae_model_config(h.model)
    values = {}
    for key in _all_keys():
        values[key] = _config_get(cfgp, key)
    if not values[LAYERS_KEY]:
        del values[LAYERS_KEY]
    est = SparseAutoencoder(values, epochs=epochs)
    est._handle = h
    return est


def load_checkpoint(path: PathLike, *, epochs: int = 10) -> SparseAutoencoder:
    """Loads a checkpoint written by :meth:`SparseAutoencoder.save_checkpoint`
    (or ``sae_trainer_save_checkpoint``) into a fitted estimator whose
    trainer continues where the saved one stopped: :meth:`resume` (or
    :meth:`partial_fit`) goes on bit-identically. Errors: ``IoError``,
    ``FormatError`` (also for a model file, which is no checkpoint),
    ``ChecksumError``, ``VersionError``."""
    m, t = c_void_p(), c_void_p()
    _lib.check(_lib.sae_trainer_load_checkpoint(_b(os.fspath(path)), byref(m), byref(t)))
    h = _Handle(m.value)
    h.trainer = t.value
    return _estimator_of(h, epochs)


def load(path: PathLike, *, format: Optional[str] = None,
         epochs: int = 10) -> SparseAutoencoder:
    """Loads a model into a fitted :class:`SparseAutoencoder` whose
    parameters are the model's config: a file written by ``sae_model_save``
    (or :meth:`SparseAutoencoder.save`), or another tool's SAE through
    ``sae_model_import`` (docs/formats.md): a SAELens or sparsify folder, a
    Gemma Scope ``params.npz`` or ``params.safetensors``, a Llama Scope
    folder. ``format`` (``"saelens"``, ``"sparsify"``, ``"gemmascope"``,
    ``"llamascope"``, ``"libsae"``) names it; ``None`` detects it. Errors:
    ``IoError``, ``FormatError``, ``ChecksumError``, ``VersionError``,
    ``DimensionError`` (a tensor of the wrong shape, "transposed" in the
    message when it is the transpose), ``UnsupportedError`` (a setting
    libsae cannot compute), ``BadValueError``."""
    h = _load_handle(path, format)
    cfgp = _lib.sae_model_config(h.model)
    values = {}
    for key in _all_keys():
        values[key] = _config_get(cfgp, key)
    if not values[LAYERS_KEY]:
        del values[LAYERS_KEY]
    est = SparseAutoencoder(values, epochs=epochs)
    est._handle = h
    return est
