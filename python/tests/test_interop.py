"""Zero-copy in and out, lifetimes, writes, errors, threads, pickling, and
the functions beside the array (eval, jit, explain, profile, random)."""
import contextlib
import gc
import operator
import pickle
import subprocess
import sys
import threading
import warnings
import weakref

import numpy as np
import pytest

import ndjit


def test_zero_copy_in_and_out():
    a = np.arange(12.0).reshape(3, 4)
    x = ndjit.asarray(a)
    assert np.shares_memory(np.asarray(x), a)
    assert np.shares_memory(x.numpy(), a)
    # Views of views, negative strides included, read the same memory.
    v = x[::-1, 1::2]
    assert np.shares_memory(np.asarray(v), a)
    np.testing.assert_array_equal(np.asarray(v), a[::-1, 1::2])
    # A computed value is handed out once: asking again gives the same memory.
    y = x * 2
    assert np.shares_memory(np.asarray(y), y.numpy())
    # Buffers and memoryviews are viewed, not copied.
    buf = bytearray(np.arange(4, dtype=np.int32).tobytes())
    z = ndjit.asarray(memoryview(buf).cast("i"))
    buf[0] = 7
    assert int(z[0]) == 7


def test_read_only_stays_read_only():
    a = np.arange(5.0)
    a.flags.writeable = False
    x = ndjit.asarray(a)
    assert not x.numpy().flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        x[0] = 1.0
    assert a[0] == 0.0
    b = np.broadcast_to(np.arange(3.0), (4, 3))
    np.testing.assert_array_equal(np.asarray(ndjit.asarray(b) + 1), b + 1)


def test_lifetimes():
    # Above the engine's memo of small evaluations (64 KiB of inputs), which
    # keeps up to 256 recent small expressions (and their inputs) alive.
    a = np.arange(10000.0)
    alive = weakref.ref(a)
    x = ndjit.asarray(a)
    y = np.sin(x) * 2
    del a, x
    gc.collect()
    assert alive() is not None  # the lazy value still reads it
    want = np.sin(np.arange(10000.0)) * 2
    np.testing.assert_allclose(np.asarray(y), want)
    del y
    gc.collect()
    assert alive() is None  # and lets go once nothing reads it
    # A view handed out outlives its ndjit array.
    out = np.asarray(ndjit.asarray(np.ones(10)) + 1)
    gc.collect()
    np.testing.assert_array_equal(out, np.full(10, 2.0))


def test_writes_through_views_and_lazy_values_keep_their_value():
    a = np.arange(6.0)
    x = ndjit.asarray(a)
    y = x * 10  # built before the write, so it sees the old values
    x[1:3] = 0
    np.testing.assert_array_equal(a, [0, 0, 0, 3, 4, 5])
    np.testing.assert_array_equal(np.asarray(y), np.arange(6.0) * 10)
    x[...] = x + 1
    np.testing.assert_array_equal(a, [1, 1, 1, 4, 5, 6])
    z = x * 1  # lazy again
    x[x > 4] = -1  # a mask: where(mask, -1, x) in place
    x[[0, 1]] = 9
    np.testing.assert_array_equal(a, [9, 9, 1, 4, -1, -1])
    np.testing.assert_array_equal(np.asarray(z), [1, 1, 1, 4, 5, 6])


def test_advanced_indexes_read_in_ndjit():
    a = np.arange(24.0).reshape(4, 6)
    x = ndjit.asarray(a) * 2
    with ndjit.no_fallback():
        for key in ((x > 20,), ([0, 3],), (slice(None), [1, -1]), ([0, 2], [1, 3]),
                    (np.array([[0], [2]]), slice(1, 3))):
            k = key[0] if len(key) == 1 else key
            got = x[k]
            assert isinstance(got, ndjit.Array)
            kn = np.asarray(k) if isinstance(k, ndjit.Array) else k
            np.testing.assert_array_equal(np.asarray(got), (a * 2)[kn])
    with pytest.raises(IndexError, match="index 9 is out of bounds"):
        x[[0, 9]]


def test_setitem_follows_numpy():
    rng = np.random.default_rng(3)
    cases = [
        (np.arange(5), 0, 2.7),                               # cast unsafe, as NumPy
        (np.arange(6.0), slice(1, 4), np.array([7, 8, 9])),
        (np.arange(12.0).reshape(3, 4), (slice(None), [True, False, True, False]), -1),
        (np.arange(12).reshape(3, 4), ([0, 2], [1, 3]), [100, 200]),
        (np.arange(12).reshape(3, 4), [2, 0], np.array([[1.9, 2.9, -3.9, 4.5]])),
        (np.arange(6), [1, 1], [3, 4]),                       # the last write wins
        (rng.standard_normal((4, 5)), (1, slice(None, None, -2)), 0.5),
        (np.arange(8).reshape(2, 4), True, 3),                # NumPy's own path
    ]
    for base, key, value in cases:
        want = base.copy()
        want[key] = value
        got = base.copy()
        x = ndjit.asarray(got)
        with ndjit.no_fallback() if key is not True else contextlib.nullcontext():
            x[key] = value
        np.testing.assert_array_equal(got, want, err_msg=repr(key))
        np.testing.assert_array_equal(np.asarray(x), want)
    x = ndjit.asarray(np.arange(4))
    with pytest.raises(IndexError, match="index 9 is out of bounds for axis 0 with size 4"):
        x[[0, 9]] = 1
    with pytest.raises(ValueError, match="setting an array element with a sequence"):
        x[0] = [1, 2]
    with pytest.raises(ValueError, match="read-only"):
        ro = np.arange(3)
        ro.flags.writeable = False
        ndjit.asarray(ro)[0] = 1
    np.testing.assert_array_equal(np.asarray(x), np.arange(4))


def test_out_argument_writes_into_numpy():
    a = np.arange(4.0)
    out = np.empty(4)
    r = np.add(ndjit.asarray(a), 1, out=out)
    assert r is out
    np.testing.assert_array_equal(out, a + 1)
    np.multiply(ndjit.asarray(a), 2, out=a)  # in place, as NumPy
    np.testing.assert_array_equal(a, [0, 2, 4, 6])


def test_eval_several_values_at_once():
    a = np.linspace(0, 1, 50)
    x = ndjit.asarray(a)
    s, c = ndjit.eval(np.sin(x), np.cos(x))
    np.testing.assert_allclose(s, np.sin(a))
    np.testing.assert_allclose(c, np.cos(a))


def test_errors_are_numpys():
    x = ndjit.asarray(np.ones((3, 4)))
    with pytest.raises(ValueError, match="could not be broadcast"):
        x + np.ones(5)
    with pytest.raises(np.AxisError):
        x.sum(axis=2)
    with pytest.raises(IndexError):
        x[5]
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.sum(axes=1)
    with pytest.raises(TypeError):
        ndjit.asarray(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x > 0)
    # A failed call leaves the arrays usable.
    np.testing.assert_array_equal(np.asarray(x + 1), np.full((3, 4), 2.0))


def test_fallback_to_numpy_warns_once():
    x = ndjit.asarray(np.array([3.0, 1.0, 2.0]))
    ndjit.warn_fallback(True)
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            np.testing.assert_array_equal(np.sort(x), [1, 2, 3])
            np.testing.assert_array_equal(np.sort(x * 2), [2, 4, 6])
        assert len([m for m in w if "sort" in str(m.message)]) == 1
    finally:
        ndjit.warn_fallback(False)
    np.testing.assert_array_equal(np.cumsum(x), np.cumsum([3.0, 1.0, 2.0]))


def test_scalars_out():
    x = ndjit.asarray(np.arange(5.0))
    assert float(x.sum()) == 10.0
    assert int(x.max()) == 4
    assert x[2].item() == 2.0
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert "array([0., 1., 2., 3., 4.])" == repr(x)


def test_pickle_keeps_values_lazy_and_crosses_processes():
    a = np.arange(12.0).reshape(3, 4)
    x = ndjit.asarray(a)
    y = np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1)
    y = y + ndjit.random.default_rng(3).random(3) * x[::-1, 1]
    blob = pickle.dumps(y)
    z = pickle.loads(blob)
    assert isinstance(z, ndjit.Array)
    graph = ndjit.explain(z, "graph")  # still a graph, not a value
    assert "max" in graph and "exp" in graph and "random" in graph
    np.testing.assert_array_equal(np.asarray(z), np.asarray(y))
    code = ("import pickle, sys, numpy as np, ndjit\n"
            "z = pickle.loads(sys.stdin.buffer.read())\n"
            "sys.stdout.write(repr(np.asarray(z).tolist()))\n")
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True,
                         check=True)
    assert eval(out.stdout.decode()) == np.asarray(y).tolist()
    with pytest.raises(ValueError):
        ndjit._from_graph_state((99, (), (), ()))


def test_threads():
    a = np.random.default_rng(0).standard_normal((200, 300))
    want = np.tanh(a).sum(axis=1) + 1
    errors = []

    def work():
        try:
            for _ in range(20):
                x = ndjit.asarray(a)
                got = np.asarray(np.tanh(x).sum(axis=1) + 1)
                np.testing.assert_allclose(got, want, rtol=1e-12)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_jit_traces_once_per_layout():
    calls = []

    def f(a, b):
        calls.append(1)
        return np.exp(a) * b + 1, a.sum(axis=0)

    g = ndjit.jit(f)
    a = np.random.default_rng(1).standard_normal((8, 4))
    b = np.random.default_rng(2).standard_normal((8, 4))
    for _ in range(3):
        r, s = g(a, b)
        np.testing.assert_allclose(r, np.exp(a) * b + 1)
        np.testing.assert_allclose(s, a.sum(axis=0))
    assert (len(calls), g.traces()) == (1, 1)
    # New arrays of the same dtypes and shapes replay, wherever NumPy put
    # them (16-byte aligned, sometimes 64).
    for k in range(6):
        r, s = g(a * k, b)
        np.testing.assert_allclose(r, np.exp(a * k) * b + 1)
        np.testing.assert_allclose(s, (a * k).sum(axis=0))
    assert (len(calls), g.traces()) == (1, 1)
    g(a[:, :2].astype(np.float32), b[:, :2])  # another layout: traced again
    assert g.traces() == 2


def test_jit_errors_are_the_functions():
    def f(a):
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        ndjit.jit(f)(np.ones(3))


def test_explain_and_profile():
    x = ndjit.asarray(np.ones(1000, dtype=np.float32))
    text = ndjit.explain(np.exp(x) * 2, "loops")
    assert "vector" in text and "exp" in text
    assert "kernel" in ndjit.explain(np.exp(x) * 2, "fused")
    assert "define" in ndjit.explain(x + 1, "llvm")
    with ndjit.profile() as p:
        np.asarray(np.sin(x) + 3)
    assert "calls" in p.table


def test_threads_setting():
    n = ndjit.get_num_threads()
    ndjit.set_num_threads(1)
    assert ndjit.get_num_threads() == 1
    ndjit.set_num_threads(n)
    assert ndjit.get_num_threads() == n


def test_cache_blocks_change_speed_not_values():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((512, 300)).astype(np.float32)

    def softmax():
        a = ndjit.asarray(x.copy())  # a fresh leaf: nothing evaluated before
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    block = ndjit.get_cache_block_bytes()
    try:
        ndjit.set_cache_block_bytes(0)
        assert ndjit.get_cache_block_bytes() == 0
        unblocked = softmax()
        ndjit.set_cache_block_bytes(16 << 10)  # 13 rows a block: blocks that do not divide the rows
        assert ndjit.get_cache_block_bytes() == 16 << 10
        blocked = softmax()
        with pytest.raises(ValueError, match=r"set_cache_block_bytes\(\): .* not -5"):
            ndjit.set_cache_block_bytes(-5)
        with pytest.raises(TypeError):
            ndjit.set_cache_block_bytes(1.5)
        assert ndjit.get_cache_block_bytes() == 16 << 10
    finally:
        ndjit.set_cache_block_bytes(block)
    assert blocked.tobytes() == unblocked.tobytes()
    np.testing.assert_allclose(blocked.sum(axis=1), 1, rtol=1e-5)
    chunk = ndjit.get_stream_chunk_bytes()
    ndjit.set_stream_chunk_bytes(1 << 20)
    assert ndjit.get_stream_chunk_bytes() == 1 << 20
    ndjit.set_stream_chunk_bytes(chunk)


def test_random_generator_is_lazy_and_reproducible():
    r1 = ndjit.random.default_rng(7).normal(size=(100, 10))
    r2 = ndjit.random.default_rng(7).normal(size=(100, 10))
    assert isinstance(r1, ndjit.Array)
    np.testing.assert_array_equal(np.asarray(r1), np.asarray(r2))
    m = float(np.asarray(r1).mean())
    assert abs(m) < 0.2
    u = np.asarray(ndjit.random.default_rng(3).random(1000))
    assert u.min() >= 0 and u.max() < 1


def test_dlpack_both_ways_without_copies():
    a = np.arange(12.0).reshape(3, 4)
    x = ndjit.asarray(a) * 2
    b = np.from_dlpack(x)  # NumPy imports ndjit's value
    np.testing.assert_array_equal(b, a * 2)
    assert np.shares_memory(b, x.numpy())
    v = np.from_dlpack(ndjit.asarray(a)[::-1, ::2])  # strided views keep their strides
    np.testing.assert_array_equal(v, a[::-1, ::2])
    assert np.shares_memory(v, a)
    z = ndjit.from_dlpack(a[:, 1])  # and ndjit imports NumPy's
    np.testing.assert_array_equal(np.asarray(z + 1), a[:, 1] + 1)
    assert np.shares_memory(np.asarray(z), a)
    assert x.__dlpack_device__() == (1, 0)
    del x
    gc.collect()
    np.testing.assert_array_equal(b, a * 2)  # the consumer keeps the memory alive
    cap = ndjit.asarray(a).__dlpack__()  # a capsule nobody consumed is released
    del cap
    gc.collect()
    r = a.copy()
    r.flags.writeable = False
    with pytest.raises(BufferError):
        np.from_dlpack(ndjit.asarray(r))


def test_structured_arrays_are_records_read_in_place():
    dt = np.dtype([("t", "<u8"), ("pos", "<f4", (3,)), ("vel", "<f4", (3,))], align=True)
    a = np.zeros(6, dtype=dt)
    a["vel"] = np.arange(18, dtype=np.float32).reshape(6, 3)
    a["t"] = np.arange(6)
    r = ndjit.asarray(a)
    assert isinstance(r, ndjit.Records)
    assert r.shape == (6,) and r.itemsize == 32 and r.names == ("t", "pos", "vel")
    vel = r["vel"]
    assert vel.shape == (6, 3) and vel.strides == (32, 4)
    assert np.shares_memory(np.asarray(vel), a)
    speed = np.sqrt((vel * vel).sum(axis=1))
    np.testing.assert_allclose(np.asarray(speed), np.sqrt((a["vel"] ** 2).sum(axis=1)),
                               rtol=1e-6)
    part = r[1:5:2].numpy()
    assert part.dtype.names == dt.names and part.dtype.itemsize == 32
    assert np.shares_memory(part, a)
    np.testing.assert_array_equal(part["t"], [1, 3])
    with pytest.raises(ValueError, match="no field"):
        r["speed"]


def test_buffer_protocol_hands_out_the_computed_memory():
    x = ndjit.asarray(np.arange(6, dtype=np.float32).reshape(2, 3)) * 2
    m = memoryview(x)
    assert (m.format, m.shape, m.strides, m.readonly) == ("f", (2, 3), (12, 4), False)
    assert m.tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]
    assert np.shares_memory(np.asarray(m), x.numpy())
    z = ndjit.asarray(np.array([1 + 2j, 3j]))
    np.testing.assert_array_equal(np.asarray(memoryview(z)), [1 + 2j, 3j])
    r = np.arange(3.0)
    r.flags.writeable = False
    assert memoryview(ndjit.asarray(r)).readonly
    h = ndjit.asarray(np.array([1.5, -2], dtype=np.float16))
    assert memoryview(h).format == "e"


@pytest.mark.parametrize("env,want", [({"OMP_NUM_THREADS": "1"}, 1),
                                      ({"OMP_NUM_THREADS": "2,1"}, 2),
                                      ({"OMP_NUM_THREADS": "1", "NDJIT_NUM_THREADS": "2"}, 2)])
def test_thread_count_from_the_environment(env, want):
    import os
    full = {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "NDJIT_NUM_THREADS")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", "import ndjit; print(ndjit.get_num_threads())"],
                         env=full, capture_output=True, check=True)
    assert int(out.stdout) == want


def test_jit_functions_keep_their_name_and_check_their_calls():
    def scaled(a, b):
        """doc"""
        return a * 2 + b

    g = ndjit.jit(scaled)
    assert g.__name__ == "scaled" and g.__doc__ == "doc" and g.__wrapped__ is scaled
    x = np.arange(4.0)
    np.testing.assert_array_equal(g(x, x), x * 3)
    with pytest.raises(TypeError, match="by position"):
        g(x, b=x)
    with pytest.raises(TypeError, match="traced with 2"):
        g(x)
    with pytest.raises(TypeError):
        g(x, "not an array")


COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}


def test_bytes_arrays_compare_and_contain_as_numpy_and_numexpr_do():
    rng = np.random.default_rng(7)
    pieces = [b"", b"a", b"b", b"\0", b"\xff", b"ab"]

    def words(n):
        return [b"".join(rng.choice(pieces, size=rng.integers(0, 4))) for _ in range(n)]

    a = np.array(words(40), dtype="S6")
    b = np.array(words(40), dtype="S3")  # a narrower width: NULs pad it

    def expect(op, x, y):
        # NumPy 2's order (numpy#25522): the items padded with NULs to one
        # width, compared as unsigned bytes, which is Python's order of bytes.
        # NumPy 1.24 compared a longer item's extra bytes as signed chars.
        x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
        compare = COMPARISONS[op]
        return np.array([compare(p.ljust(6, b"\0"), q.ljust(6, b"\0")) for p, q in
                         zip(x.ravel().tolist(), y.ravel().tolist())]).reshape(x.shape)

    for op in COMPARISONS:
        np.testing.assert_array_equal(ndjit.evaluate(f"a {op} b"), expect(op, a, b))
        np.testing.assert_array_equal(ndjit.evaluate(f"a[:5, None] {op} b[::7]"),
                                      expect(op, a[:5, None], b[::7]))
        np.testing.assert_array_equal(ndjit.evaluate(f"a {op} b'ab'"), expect(op, a, b"ab"))
    # numexpr's contains: the items without their trailing NULs.
    expected = [y.rstrip(b"\0") in x.rstrip(b"\0") for x, y in zip(a.tolist(), b.tolist())]
    np.testing.assert_array_equal(ndjit.evaluate("contains(a, b)"), expected)
    # Arrays of bytes come back as NumPy's, items as np.bytes_.
    r = ndjit.evaluate("a")
    assert r.dtype == a.dtype and r.tobytes() == a.tobytes()
    assert ndjit.equal(a, a[0]).tolist() == (a == a[0]).tolist()
    with pytest.raises(TypeError, match="did not contain a loop"):
        ndjit.evaluate("a + b")
    with pytest.raises(TypeError, match="unicode strings"):
        ndjit.equal(np.array(["x"]), np.array(["y"]))
