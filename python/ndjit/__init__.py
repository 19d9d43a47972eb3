"""ndjit: NumPy's array model, lazy, compiled to fused multithreaded kernels.

    >>> import numpy as np, ndjit
    >>> x = ndjit.asarray(np.arange(6.0))      # a view of NumPy's memory
    >>> y = np.exp(x) * 2 + x                   # builds a graph, runs nothing
    >>> np.asarray(y)[:3]                       # one fused kernel, then NumPy
    array([ 2.        ,  6.43656366, 16.7781122 ])

Every NumPy function ndjit implements builds the graph (through
``__array_ufunc__`` and ``__array_function__``); any other evaluates its ndjit
arguments and calls NumPy. Python numbers are weak (NEP 50, NumPy 2's
rules). ``ndjit.evaluate`` is a drop-in for ``numexpr.evaluate``.
"""

import builtins as _py
import contextlib
import functools
import operator
import sys
import threading
import warnings

import numpy as np

from . import _ndjit
from ._ndjit import Array, Records

__all__ = [
    "Array", "Records", "asarray", "eval", "evaluate", "re_evaluate", "jit", "explain", "profile",
    "set_num_threads", "get_num_threads", "set_cache_block_bytes", "get_cache_block_bytes",
    "set_stream_chunk_bytes", "get_stream_chunk_bytes", "warn_fallback", "no_fallback",
    "FallbackError",
]

_BUILTINS = frozenset(_ndjit.builtin_names())


def _function(name):
    def f(*args, **kwargs):
        return _ndjit.call(name, args, kwargs)

    f.__name__ = f.__qualname__ = name.replace(".", "_")
    f.__doc__ = _ndjit.signature(name) or name
    return f


# The language's builtins, one module function each (ndjit.sin, ndjit.sum,
# ndjit.einsum, ...): one table, the one the REPL and scripts use.
for _name in _BUILTINS:
    if "." not in _name:
        globals()[_name] = _function(_name)
del _name


def asarray(obj):
    """An ndjit array over ``obj``'s memory (NumPy arrays, buffers,
    ``__array__`` and ``__dlpack__`` producers): no copy is made. A
    structured array gives ``Records``, whose fields (``rec['vel']``) are
    ndjit arrays read in place."""
    if isinstance(obj, (Array, Records)):
        return obj
    if isinstance(obj, np.ndarray) and obj.dtype.names is not None:
        return _ndjit.records(obj)
    return Array(obj)


def from_dlpack(obj):
    """An ndjit array over a DLPack producer's memory."""
    return Array(np.from_dlpack(obj))


def eval(*arrays):
    """Computes several values in one evaluation (shared inputs read once,
    shared subexpressions computed once); returns them as NumPy arrays."""
    xs = [asarray(a) for a in arrays]
    _ndjit.evaluate_all(*xs)
    out = tuple(x.numpy() for x in xs)
    return out[0] if len(out) == 1 else out


# --- NumPy's protocols --------------------------------------------------------

_warn_fallback = False
_warned = set()
_warn_lock = threading.Lock()


def warn_fallback(on=True):
    """Warn once per NumPy function that ndjit hands to NumPy."""
    global _warn_fallback
    _warn_fallback = bool(on)


class FallbackError(TypeError):
    """What ``no_fallback`` raises where NumPy would have run."""


_strict = threading.local()


@contextlib.contextmanager
def no_fallback():
    """Within the block (on this thread), anything ndjit would hand to NumPy
    raises FallbackError instead: a check that an expression is ndjit's
    entirely (ndjit.dask uses it before it takes over a chunk's work)."""
    prev = getattr(_strict, "on", False)
    _strict.on = True
    try:
        yield
    finally:
        _strict.on = prev


def _refuse(name):
    if getattr(_strict, "on", False):
        raise FallbackError(f"ndjit: {name} is not implemented; NumPy would run it")


def _to_numpy(x):
    if isinstance(x, Array):
        return x.numpy()
    if isinstance(x, (tuple, list)):
        return type(x)(_to_numpy(i) for i in x)
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    return x


def _fallback(name, func, args, kwargs):
    _refuse(name)
    if _warn_fallback:
        with _warn_lock:
            first = name not in _warned
            _warned.add(name)
        if first:
            warnings.warn(f"ndjit: {name} is not implemented; its ndjit arguments are computed "
                          f"and NumPy's {name} runs", RuntimeWarning, stacklevel=3)
    return func(*_to_numpy(args), **_to_numpy(kwargs))


# ufunc.reduce as the reduction it is (axis 0 unless given, as NumPy's).
_UFUNC_REDUCTIONS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
                     "logical_and": "all", "logical_or": "any"}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    name = ufunc.__name__
    out = kwargs.get("out")
    if out is not None and isinstance(out, tuple):
        if len(out) != 1:
            return _fallback(f"{name} with {len(out)} outputs", getattr(ufunc, method), inputs,
                             kwargs)
        kwargs["out"] = out[0]
        out = out[0]
    if method == "__call__" and name in _BUILTINS:
        r = _ndjit.call(name, inputs, kwargs, strict=False)
    elif method == "reduce" and name in _UFUNC_REDUCTIONS and len(inputs) == 1:
        kwargs.setdefault("axis", 0)
        r = _ndjit.call(_UFUNC_REDUCTIONS[name], inputs, kwargs, strict=False)
    elif method == "accumulate" and name in _UFUNC_REDUCTIONS and len(inputs) == 1:
        r = _ndjit.call("ufunc.accumulate", (name,) + inputs, kwargs, strict=False)
    elif (method == "at" and isinstance(inputs[0], Array) and len(inputs) in (2, 3)
          and not kwargs and name in _BUILTINS):
        # In place, as NumPy's: returns None.
        value = inputs[2] if len(inputs) == 3 else None
        if inputs[0]._at(name, inputs[1], value):
            return None
        r = NotImplemented
    elif method == "outer" and name in _BUILTINS and len(inputs) == 2:
        # op(a[..., None, ...], b): one fused broadcast, no (a, b)-shaped temporary.
        a, b = asarray(inputs[0]), asarray(inputs[1])
        r = _ndjit.call(name, (a.reshape(a.shape + (1,) * b.ndim), b), kwargs, strict=False)
    else:
        r = NotImplemented
    if r is NotImplemented:
        label = name if method == "__call__" else f"{name}.{method}"
        return _fallback(label, getattr(ufunc, method), inputs, kwargs)
    return out if out is not None else r


# NumPy's function names that are not the builtins' own.
_FUNCTION_ALIASES = {"round_": "rint", "around": None, "absolute": "absolute"}


def _array_function(self, func, types, args, kwargs):
    module = getattr(func, "__module__", "") or ""
    name = func.__name__
    if module == "numpy.linalg":
        name = "linalg." + name
    elif module != "numpy":
        name = None
    name = _FUNCTION_ALIASES.get(name, name)
    if name == "transpose" and "axes" in kwargs:
        # np.transpose(a, axes=...): the builtin is the method's transpose(*axes).
        kwargs = dict(kwargs)
        args = tuple(args[:1]) + (kwargs.pop("axes"),)
    if name in _BUILTINS:
        r = _ndjit.call(name, args, kwargs, strict=False)
        if r is not NotImplemented:
            return r
    return _fallback(func.__name__, func, args, kwargs)


def _getitem(self, key):
    r = self._basic_getitem(key)
    if r is not None:
        return r
    # Boolean and integer-array indexes: a copy of what they select, as in NumPy.
    r = self._select(key)
    if r is not None:
        return r
    _refuse("advanced indexing")
    return Array(self.numpy()[_to_numpy(key)])


def _setitem(self, key, value):
    # Basic, integer-array and mask indexes: ndjit stores (NumPy's setitem,
    # lazy readers of this array computed first).
    if self._store(key, value):
        return
    # Anything else NumPy updates in a copy, written back whole.
    _refuse("advanced index assignment")
    updated = self.numpy().copy()
    updated[_to_numpy(key)] = _to_numpy(value)
    self._store(Ellipsis, updated)


def _method(name):
    def m(self, *args, **kwargs):
        return _ndjit.call(name, (self,) + args, kwargs)

    m.__name__ = m.__qualname__ = name
    m.__doc__ = _ndjit.signature(name)
    return m


def _real(self):
    return _ndjit.call("real", (self,), {}) if self.dtype.kind == "c" else self


def _imag(self):
    if self.dtype.kind == "c":
        return _ndjit.call("imag", (self,), {})
    return _ndjit.call("zeros_like", (self,), {})


Array.__array_ufunc__ = _array_ufunc
Array.__array_function__ = _array_function
Array.__getitem__ = _getitem
Array.__setitem__ = _setitem
Array.__matmul__ = lambda self, other: _ndjit.call("matmul", (self, other), {})
Array.__rmatmul__ = lambda self, other: _ndjit.call("matmul", (other, self), {})
Array.__divmod__ = lambda self, other: _ndjit.call("divmod", (self, other), {})
Array.__rdivmod__ = lambda self, other: _ndjit.call("divmod", (other, self), {})
Array.__iter__ = lambda self: (self[i] for i in range(len(self)))
def _from_graph_state(state):
    # A module-level function: pickle names it (it cannot name the module's
    # C++ functions).
    return _ndjit.from_graph_state(state)


# Pickled as the lazy value it is: its graph and the arrays it reads.
Array.__reduce__ = lambda self: (_from_graph_state, (_ndjit.graph_state(self),))
Array.real = property(_real)
Array.imag = property(_imag)
for _m in ("sum", "prod", "mean", "max", "min", "any", "all", "var", "std", "argmax", "argmin",
           "astype", "reshape", "transpose", "squeeze", "dot", "trace", "diagonal", "clip",
           "conj", "conjugate", "copy", "take", "cumsum", "cumprod", "round", "ravel",
           "flatten", "swapaxes", "nonzero", "sort", "argsort"):
    if _m in _BUILTINS:
        setattr(Array, _m, _method(_m))
    else:
        # NumPy's method on the computed value.
        setattr(Array, _m, (lambda n: lambda self, *a, **k: _fallback(
            f"ndarray.{n}", getattr(np.ndarray, n), (self.numpy(),) + a, k))(_m))
del _m


# --- numexpr's evaluate ------------------------------------------------------

_expressions = {}
_expressions_lock = threading.Lock()
_last = threading.local()
_PY_NUMBERS = (bool, int, float, complex)


def _compiled(ex, names, scope):
    """The traced expression for `ex` over the values `scope` gives its names."""
    params, arrays, numbers = [], [], {}
    for n, v in zip(names, scope):
        if type(v) in _PY_NUMBERS:
            numbers[n] = v
        else:
            params.append(n)
            arrays.append(v)
    key = (ex, tuple(params), tuple((n, type(v), v) for n, v in numbers.items()))
    e = _expressions.get(key)
    if e is None:
        e = _ndjit.Expression(ex, params, numbers)
        with _expressions_lock:
            if len(_expressions) > 256:
                _expressions.clear()
            _expressions[key] = e
    return e, arrays


def _scope(names, local_dict, global_dict, depth):
    frame_locals = None
    if local_dict is None or global_dict is None:
        frame = sys._getframe(depth + 1)
        if global_dict is None:
            global_dict = frame.f_globals
        if local_dict is None:
            local_dict = frame_locals = frame.f_locals
        del frame
    try:
        used, values = [], []
        for n in names:
            if n in local_dict:
                v = local_dict[n]
            elif n in _BUILTINS or n in _CONSTANTS:
                continue
            elif n in global_dict:
                v = global_dict[n]
            else:
                raise KeyError(n)
            used.append(n)
            values.append(v)
        return used, values
    finally:
        # A function frame's f_locals is a snapshot the frame keeps: cleared,
        # it holds no extra references to the caller's arrays.
        if frame_locals is not None and frame_locals is not global_dict:
            frame_locals.clear()


_CONSTANTS = frozenset({"True", "False", "None", "pi", "e", "inf", "nan", "newaxis", "np",
                        "numpy", "float16", "float32", "float64", "int8", "int16", "int32",
                        "int64", "uint8", "uint16", "uint32", "uint64", "bool", "complex64",
                        "complex128"})
_names = functools.lru_cache(maxsize=1024)(lambda ex: tuple(_ndjit.names(ex)))


# numexpr's tuning keywords, accepted and without effect: ndjit always
# optimises, and `/` is NumPy's true division.
_NUMEXPR_KEYWORDS = frozenset({"optimization", "truediv", "sanitize"})


def evaluate(ex, local_dict=None, global_dict=None, out=None, order="K", casting="safe",
             _frame_depth=1, **kwargs):
    """numexpr.evaluate: `ex` over the arrays its names have in the caller's
    frame (or `local_dict` / `global_dict`), as one fused kernel. The first
    call per expression and argument layouts compiles it; later calls replay
    it. `out` receives the result (cast under `casting`)."""
    for k in kwargs:
        if k not in _NUMEXPR_KEYWORDS:
            raise TypeError(f"evaluate() got an unexpected keyword argument '{k}'")
    if not isinstance(ex, str):
        raise ValueError("must specify expression as a string")
    names, values = _scope(_names(ex), local_dict, global_dict, _frame_depth)
    if _py.any(_holds_bytes(v) for v in values):
        r = np.asarray(_ndjit.evaluate_values(ex, names, values))
        _last.expr = (ex, None, names)
        if out is None:
            return r
        np.copyto(out, r, casting=casting)
        return out
    e, arrays = _compiled(ex, names, values)
    _last.expr = (ex, e, names)
    r = e(arrays)
    if out is None:
        return r
    np.copyto(out, r, casting=casting)
    return out


def _holds_bytes(v):
    """Bytes, NumPy's arrays of them or lists of them: evaluated eagerly,
    not traced."""
    if isinstance(v, (list, tuple)):
        return _py.len(v) > 0 and _holds_bytes(v[0])
    return isinstance(v, bytes) or (isinstance(v, np.ndarray) and v.dtype.kind == "S")


def re_evaluate(local_dict=None, global_dict=None, _frame_depth=1):
    """Evaluates the last expression `evaluate` ran on this thread again,
    with its names' current values."""
    last = getattr(_last, "expr", None)
    if last is None:
        raise RuntimeError("not a previous evaluate() execution found")
    ex, e, names = last
    used, values = _scope(names, local_dict, global_dict, _frame_depth)
    if e is None or _py.any(type(v) in _PY_NUMBERS or _holds_bytes(v) for v in values):
        return evaluate(ex, dict(zip(used, values)), global_dict)
    return e(values)


# --- Traced functions --------------------------------------------------------

def jit(fn):
    """Traces `fn` (a function of arrays returning an array or a tuple of
    them) on its first call per set of argument layouts; later calls replay
    the compiled Program on the new arrays without running `fn`."""
    traced = _ndjit.jit_function(fn)
    functools.update_wrapper(traced, fn)
    return traced


# --- The explorer, the profiler, threads -------------------------------------

def explain(x, stage="graph"):
    """What the REPL's explorer prints for `x`: "graph", "program", "fused",
    "loops", "llvm", "asm" or "time"."""
    return _ndjit.explain(asarray(x), stage)


class _Profile:
    table = ""


@contextlib.contextmanager
def profile():
    """The kernel profiler over a block: ``with ndjit.profile() as p: ...``,
    then ``p.table`` is its table (calls, compile and run time, GB/s)."""
    p = _Profile()
    _ndjit.reset_profile()
    _ndjit.set_profiling(True)
    try:
        yield p
    finally:
        _ndjit.set_profiling(False)
        p.table = _ndjit.profile_report()


def set_num_threads(n):
    """Sets the number of threads evaluations use (by default
    ``NDJIT_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the cores)."""
    _ndjit.set_num_threads(n)


def get_num_threads():
    """The number of threads evaluations use."""
    return _ndjit.get_num_threads()


def _byte_count(name, n):
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"{name}(): the byte count must be >= 0 (0 turns it off), not {n}")
    return n


def set_cache_block_bytes(n):
    """Sets the bytes of the row blocks that stay in cache while every pass of
    a softmax, layer norm or standardisation runs over them (the L2 size by
    default; 0 turns blocks off). Results are the same bits either way."""
    _ndjit.set_cache_block_bytes(_byte_count("set_cache_block_bytes", n))


def get_cache_block_bytes():
    """The bytes of a row block in cache (0: blocks are off)."""
    return _ndjit.get_cache_block_bytes()


def set_stream_chunk_bytes(n):
    """Sets the bytes of the chunks evaluations over memory-mapped arrays
    stream in (256 MiB by default; 0 turns streaming off)."""
    _ndjit.set_stream_chunk_bytes(_byte_count("set_stream_chunk_bytes", n))


def get_stream_chunk_bytes():
    """The bytes of a streamed chunk."""
    return _ndjit.get_stream_chunk_bytes()

from . import random  # noqa: E402  (needs the functions above)
