"""ndjit.dask: ndjit as the per-chunk engine of dask.array.

    import dask, dask.array as da, ndjit.dask
    x = da.from_array(np.load("x.npy", mmap_mode="r"), chunks=2**24)
    with ndjit.dask.enabled():                     # or dask.config.set(
        r = (da.tanh(x) * 2 + 1).sum().compute()   #   array_optimize=ndjit.dask.optimize)

Dask keeps the graph, the scheduling, the data movement, the retries and the
cluster. After Dask's own optimisation has fused chains of elementwise
operations into one Blockwise layer per chain, ``optimize`` hands each such
layer whose work ndjit implements entirely to ndjit: each chunk then runs as
one ndjit evaluation (one fused kernel, no temporaries) instead of one NumPy
call per operation. A reduction's per-chunk step fuses with the expression it
reduces; Dask's tree combine stays Dask's. Any other layer stays as Dask made
it.

What a task carries to a worker is the layer's own subgraph (NumPy's ufuncs,
operators and Dask's chunk functions, pickled by name), never compiled code:
each worker process compiles a structure once and replays it per chunk. ndjit
runs on the thread count the worker's environment gives it
(``NDJIT_NUM_THREADS``, else ``OMP_NUM_THREADS``, which Dask's nanny sets to 1).
"""

import contextlib
import functools
import operator
import os
import threading
import types
import warnings

import numpy as np

import dask
import dask.array as da
from dask.array import chunk as _chunk, einsumfuncs as _einsumfuncs
from dask.array import reductions as _reductions, routines as _routines
from dask.array.optimization import optimize as _dask_optimize
from dask.blockwise import (Blockwise, BlockwiseDepDict, blockwise_token, fuse_roots,
                            optimize_blockwise)
from dask.core import flatten, get as _dask_get
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer
from dask.layers import ArraySliceDep
from dask.utils import apply

import ndjit

__all__ = ["optimize", "enabled", "report", "random", "normal", "uniform", "from_npy"]

# --- What ndjit takes over -----------------------------------------------------
#
# A call in a layer's subgraph that receives an array must be to one of these
# (a NumPy ufunc ndjit implements, an operator, or a NumPy/Dask chunk function
# whose body is NumPy calls ndjit implements); the dry run in `_rewrite` then
# proves the call runs in ndjit for the layer's dtypes and chunk shapes.

_OPERATORS = frozenset({
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
    operator.mod, operator.pow, operator.neg, operator.pos, operator.abs, operator.invert,
    operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift,
    operator.lt, operator.le, operator.eq, operator.ne, operator.ge, operator.gt,
    operator.matmul, operator.getitem,
})
_FUNCTIONS = frozenset({
    np.where, np.clip, np.sum, np.prod, np.min, np.max, np.amin, np.amax, np.any, np.all,
    np.mean, np.var, np.std, np.transpose, np.matmul, np.einsum, np.tensordot, np.dot,
    _chunk.astype, _chunk.argmin, _chunk.argmax, _reductions.chunk_min, _reductions.chunk_max, _reductions.mean_chunk,
    _reductions.moment_chunk, _reductions._sqrt, _routines._matmul, _routines._chunk_sum,
    _einsumfuncs.chunk_einsum, apply, dict, tuple, list,
})


def _known(f):
    if isinstance(f, functools.partial):
        return _known(f.func) and all(_known(a) for a in f.args if callable(a))
    if isinstance(f, np.ufunc):
        return f.__name__ in ndjit._BUILTINS
    try:
        return f in _OPERATORS or f in _FUNCTIONS or f in _LAZY
    except TypeError:  # unhashable callables
        return False


_dry = threading.local()


def _dry_run():
    """Whether this thread is in `_rewrite`'s dry run, where the ndjit forms
    below build their graphs but compute nothing (the stand-ins they would
    read are not data, and compiling for their layout would be wasted)."""
    return getattr(_dry, "on", False)


def _arg_chunk(func, argfunc, x, axis, offset_info):
    """Dask's arg_chunk with the values and indices computed in one ndjit
    evaluation (fused with the expression `x`); the offsets into the whole
    array are Dask's arithmetic on the small result."""
    arg_axis = None if len(axis) == x.ndim or x.ndim == 1 else axis[0]
    vals, arg = func(x, axis=arg_axis, keepdims=True), argfunc(x, axis=arg_axis, keepdims=True)
    if _dry_run():
        return {"vals": vals, "arg": arg}
    vals, arg = ndjit.eval(vals, arg)
    arg = np.array(arg, dtype=np.intp)
    if x.ndim > 0:
        if arg_axis is None:
            offset, total_shape = offset_info
            ind = np.unravel_index(arg.ravel()[0], x.shape)
            arg[:] = np.ravel_multi_index(tuple(o + i for o, i in zip(offset, ind)), total_shape)
        else:
            arg += offset_info
    result = np.empty(vals.shape, dtype=[("vals", vals.dtype), ("arg", arg.dtype)])
    result["vals"] = vals
    result["arg"] = arg
    return result


def _moment_chunk(A, order=2, sum=np.sum, numel=_reductions.numel, dtype="f8",
                  computing_meta=False, **kwargs):
    """Dask's moment_chunk (var, std) with the total and the central moments
    computed in one ndjit evaluation; NumPy stacks the small results."""
    if computing_meta:
        return A
    n = numel(A, **kwargs).astype(np.int64)
    total = sum(A, dtype=dtype, **kwargs)
    u = total / n
    moments = [sum((A - u) ** i, dtype=dtype, **kwargs) for i in range(2, order + 1)]
    if _dry_run():
        return {"total": total, "n": n, "M": moments}
    total, *moments = ndjit.eval(total, *moments)
    return {"total": total, "n": n, "M": np.stack(moments, axis=-1)}


# Functions replaced by their ndjit form inside a chunk's evaluation (the
# replacement returns lazy values, or evaluates what it needs in one go).
_LAZY = {_reductions.arg_chunk: _arg_chunk, _reductions.moment_chunk: _moment_chunk}


# --- One chunk's evaluation ----------------------------------------------------

class _Run:
    """Dask's task semantics over a layer's subgraph, with ndjit arrays in
    place of the array inputs. `check` (the dry run) refuses a call that
    receives an array unless it is `_known`."""

    __slots__ = ("dsk", "values", "check", "touched")

    def __init__(self, dsk, values, check):
        self.dsk, self.values, self.check, self.touched = dsk, values, check, False

    def key(self, k):
        v = self.values.get(k, _MISSING)
        if v is _MISSING:
            v = self.values[k] = self.task(self.dsk[k])
        return v

    def task(self, t):
        if type(t) is tuple and t and callable(t[0]):
            f, args = t[0], [self.task(a) for a in t[1:]]
            kwargs = {}
            if f is apply:
                f, args, kwargs = args[0], list(args[1]), (args[2] if len(args) > 2 else {})
            base = f.func if isinstance(f, functools.partial) else f
            # _LAZY's keys are Python functions (some callables are unhashable).
            lazy = _LAZY.get(base) if isinstance(base, types.FunctionType) else None
            if lazy is not None or any(isinstance(a, ndjit.Array) for a in _leaves((args, kwargs))):
                if self.check and not _known(f):
                    raise ndjit.FallbackError(f"ndjit.dask: {_name(f)} is not ndjit's")
                self.touched = True
            if lazy is not None:
                f = functools.partial(lazy, *f.args, **f.keywords) if base is not f else lazy
            return f(*args, **kwargs)
        if type(t) is list:
            return [self.task(a) for a in t]
        if _is_key(t) and (t in self.values or t in self.dsk):
            return self.key(t)
        return t


_MISSING = object()


def _is_key(t):
    return type(t) is str or (type(t) is tuple and t and type(t[0]) is str)


def _leaves(x):
    if isinstance(x, (list, tuple)):
        for i in x:
            yield from _leaves(i)
    elif isinstance(x, dict):
        for i in x.values():
            yield from _leaves(i)
    else:
        yield x


def _name(f):
    f = f.func if isinstance(f, functools.partial) else f
    return f"{getattr(f, '__module__', '') or ''}.{getattr(f, '__name__', repr(f))}".lstrip(".")


def _evaluate(result):
    """The result with its ndjit arrays computed, all in one evaluation."""
    lazy = [x for x in _leaves(result) if isinstance(x, ndjit.Array)]
    if not lazy:
        return result
    computed = ndjit.eval(*lazy)
    if len(lazy) == 1:
        computed = (computed,)
    done = {id(x): c for x, c in zip(lazy, computed)}

    def put(x):
        if isinstance(x, ndjit.Array):
            return done[id(x)]
        if isinstance(x, (list, tuple)):
            return type(x)(put(i) for i in x)
        if isinstance(x, dict):
            return {k: put(v) for k, v in x.items()}
        return x

    return put(result)


_STRICT = os.environ.get("NDJIT_DASK_STRICT", "") not in ("", "0")
_warned = set()


class FusedChunk:
    """A Blockwise layer's per-chunk work as one ndjit evaluation: called with
    the layer's inputs for one block (NumPy chunks, literals), it returns what
    Dask's own subgraph would."""

    __slots__ = ("dsk", "output", "keys", "arrays")

    def __init__(self, dsk, output, keys, arrays):
        self.dsk, self.output, self.keys, self.arrays = dsk, output, keys, arrays

    def __repr__(self):
        return f"ndjit.dask.FusedChunk<{self.output}>"

    def __call__(self, *blocks):
        values = dict(zip(self.keys, blocks))
        try:
            for k in self.arrays:
                # A subclass other than a memory map (a masked array, a
                # matrix) has meaning ndjit would drop.
                if type(values[k]) not in (np.ndarray, np.memmap):
                    raise ndjit.FallbackError(f"a {type(values[k]).__name__} chunk")
                values[k] = ndjit.asarray(values[k])
            return _evaluate(_Run(self.dsk, values, check=False).key(self.output))
        except Exception as e:
            if _STRICT:
                raise
            reason = f"{type(e).__name__}: {e}"
        # Dask's own evaluation: its result, or NumPy's error for bad input.
        result = _dask_get(self.dsk, self.output, cache=dict(zip(self.keys, blocks)))
        if reason not in _warned:
            _warned.add(reason)
            warnings.warn(f"ndjit.dask: a chunk of {self.output} ran in NumPy ({reason})",
                          RuntimeWarning, stacklevel=2)
        return result


# --- The graph rewrite -----------------------------------------------------------

def _annotations(layers, name):
    layer = layers.get(name)
    return getattr(layer, "collection_annotations", None) or {}


def _rewrite(layer, layers):
    """The layer with its subgraph run by ndjit, or None and the reason."""
    if layer.concatenate:
        return None, "contracted blocks arrive as lists"
    keys = tuple(blockwise_token(i) for i in range(len(layer.indices)))
    # The dry run's block: one the layer computes.
    block = min(layer.output_blocks) if layer.output_blocks else (0,) * len(layer.output_indices)
    where = dict(zip(layer.output_indices, block))
    probe, arrays = {}, []
    for key, (name, ind) in zip(keys, layer.indices):
        if ind is None:
            probe[key] = name
            continue
        at = tuple(where.get(i, 0) for i in ind)
        if name in layer.io_deps:
            probe[key] = layer.io_deps[name][at]
        else:
            info = _annotations(layers, name)
            if "dtype" not in info or "chunks" not in info:
                return None, f"input {name} has no dtype and chunks"
            try:
                dtype = np.dtype(info["dtype"])
                chunks = info["chunks"]
                shape = tuple(c[min(j, len(c) - 1)] if c else 0 for c, j in zip(chunks, at))
                # A lazy stand-in of the first block's shape: no memory.
                probe[key] = ndjit.asarray(np.broadcast_to(np.zeros((), dtype), shape))
            except Exception as e:
                return None, f"input {name}: {e}"
            arrays.append(key)
    run = _Run(layer.dsk, probe, check=True)
    _dry.on = True
    try:
        with ndjit.no_fallback(), np.errstate(all="ignore"):
            out = run.key(layer.output)
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"
    finally:
        _dry.on = False
    if not run.touched:
        return None, "no array work"
    want = _annotations(layers, layer.output).get("dtype")
    if isinstance(out, ndjit.Array) and want is not None and out.dtype != np.dtype(want):
        return None, f"ndjit gives {out.dtype}, Dask's metadata says {np.dtype(want)}"
    fused = FusedChunk(layer.dsk, layer.output, keys, tuple(arrays))
    new = Blockwise(layer.output, layer.output_indices, {layer.output: (fused,) + keys},
                    layer.indices, layer.numblocks, concatenate=layer.concatenate,
                    new_axes=layer.new_axes, output_blocks=layer.output_blocks,
                    annotations=layer.annotations, io_deps=layer.io_deps)
    new.collection_annotations = layer.collection_annotations
    return new, "ndjit"


def _fold_block_steps(layers, deps):
    """Joins to a Blockwise layer the materialized layer that is its only
    reader when that layer applies one function to each of its blocks with
    per-block literals (Dask's arg_chunk for argmin/argmax, with each block's
    offset): the step then fuses with the expression it reads."""
    readers = {}
    for name, ds in deps.items():
        for d in ds:
            readers.setdefault(d, set()).add(name)
    for name, layer in list(layers.items()):
        if not isinstance(layer, MaterializedLayer) or len(deps.get(name, ())) != 1:
            continue
        (src,) = deps[name]
        b = layers.get(src)
        if not isinstance(b, Blockwise) or readers.get(src) != {name} or b.concatenate:
            continue
        f, rest, ok = None, {}, True
        for key, task in layer.mapping.items():
            if not (type(key) is tuple and key[0] == name and type(task) is tuple
                    and len(task) >= 2 and callable(task[0])
                    and task[1] == (src,) + key[1:] and (f is None or task[0] is f)
                    and len(key) == len(b.output_indices) + 1):
                ok = False
                break
            f = task[0]
            rest[key[1:]] = task[2:]
        if not ok or f is None or len({len(r) for r in rest.values()}) != 1:
            continue
        n = len(next(iter(rest.values())))
        numblocks = tuple(b.dims[i] for i in b.output_indices)
        extra = [(BlockwiseDepDict({k: r[i] for k, r in rest.items()}, numblocks),
                  b.output_indices) for i in range(n)]
        tokens = tuple(blockwise_token(len(b.indices) + i) for i in range(n))
        dsk = dict(b.dsk)
        dsk[name] = (f, b.output) + tokens
        layers[name] = Blockwise(name, b.output_indices, dsk, list(b.indices) + extra,
                                 b.numblocks, new_axes=b.new_axes, output_blocks=set(rest),
                                 annotations=b.annotations, io_deps=b.io_deps)
        del layers[src]
        deps[name] = set(deps.pop(src))


def _rewrite_graph(dsk, keys):
    """The graph with the layers ndjit takes over rewritten, and for each
    fused Blockwise layer (name, "ndjit" or why not)."""
    if not isinstance(dsk, HighLevelGraph):
        dsk = HighLevelGraph.from_collections(id(dsk), dsk, dependencies=())
    # Before fuse_roots, which turns Blockwise layers over small root layers
    # into materialized tasks.
    fused = optimize_blockwise(dsk, keys=keys)
    layers, deps, report = dict(fused.layers), dict(fused.dependencies), []
    _fold_block_steps(layers, deps)
    # The collections' layers carry the dtype and chunks; fusion drops them.
    known = {**fused.layers, **dsk.layers}
    for name, layer in list(layers.items()):
        if isinstance(layer, Blockwise):
            new, reason = _rewrite(layer, known)
            report.append((name, reason))
            if new is not None:
                layers[name] = new
    return fuse_roots(HighLevelGraph(layers, deps), keys=keys), report


def optimize(dsk, keys, **kwargs):
    """Dask's array optimisation with ndjit running each fused Blockwise layer
    it implements. Use as ``dask.config.set(array_optimize=ndjit.dask.optimize)``."""
    keys = list(flatten(keys if isinstance(keys, (list, set)) else [keys]))
    return _dask_optimize(_rewrite_graph(dsk, keys)[0], keys, **kwargs)


def enabled():
    """A context in which dask.array computations use ``optimize``."""
    return dask.config.set(array_optimize=optimize)


def report(*arrays):
    """For each fused Blockwise layer of the arrays' graph: (layer name,
    "ndjit" or the reason it stays NumPy's)."""
    hlg = HighLevelGraph.merge(*[a.__dask_graph__() for a in arrays])
    keys = list(flatten([a.__dask_keys__() for a in arrays]))
    return _rewrite_graph(hlg, keys)[1]


# --- Sources ---------------------------------------------------------------------

def _random_lazy(slices, seed, shape, method, dtype, params):
    g = ndjit.random.default_rng(seed)
    return getattr(g, method)(size=shape, dtype=dtype, **params)[slices]


def _random_block(slices, seed, shape, method, dtype, params):
    return np.asarray(_random_lazy(slices, seed, shape, method, dtype, params))


_LAZY[_random_block] = _random_lazy


def _random(method, seed, shape, chunks, dtype, params):
    shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    dtype = np.dtype(dtype)
    chunks = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    params = dict(params)
    name = f"ndjit-{method}-" + dask.base.tokenize(seed, shape, chunks, dtype, params)
    fn = functools.partial(_random_block, seed=seed, shape=shape, method=method, dtype=dtype,
                           params=params)
    return _with_chunks(fn, name, tuple(range(len(shape))), chunks, dtype)


def _with_chunks(fn, name, ind, chunks, dtype):
    layer = Blockwise(name, ind, {name: (fn, blockwise_token(0))}, [(ArraySliceDep(chunks), ind)],
                      {})
    return da.Array(HighLevelGraph.from_collections(name, layer, dependencies=()), name, chunks,
                    meta=np.empty((0,) * len(ind), dtype))


def random(seed, shape, chunks="auto", dtype=np.float64):
    """Uniform [0, 1) values from ndjit's Philox generator seeded with `seed`,
    as a dask array. An element's value depends on the seed and its index in
    the whole array only, not on the chunking, so a recomputed or retried
    chunk is the same; it equals ``ndjit.random.default_rng(seed).random(shape)``.
    Chunks are generated inside the kernels that read them."""
    return _random("random", seed, shape, chunks, dtype, {})


def normal(seed, shape, chunks="auto", loc=0.0, scale=1.0, dtype=np.float64):
    """Like `random`, normally distributed."""
    return _random("normal", seed, shape, chunks, dtype, {"loc": loc, "scale": scale})


def uniform(seed, shape, chunks="auto", low=0.0, high=1.0, dtype=np.float64):
    """Like `random`, uniform in [low, high)."""
    return _random("uniform", seed, shape, chunks, dtype, {"low": low, "high": high})


def _npy_block(slices, path):
    return np.load(path, mmap_mode="r")[slices]


def from_npy(path, chunks="auto"):
    """A ``.npy`` file as a dask array whose chunks each worker maps from the
    file itself (the path crosses processes, not the data); a chunk the
    expression reads is a view of the mapping."""
    path = os.fspath(path)
    head = np.load(path, mmap_mode="r")
    chunks = da.core.normalize_chunks(chunks, head.shape, dtype=head.dtype)
    name = "ndjit-npy-" + dask.base.tokenize(path, os.path.getmtime(path), chunks)
    ind = tuple(range(head.ndim))
    return _with_chunks(functools.partial(_npy_block, path=path), name, ind, chunks, head.dtype)
