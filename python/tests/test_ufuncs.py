"""Every ufunc and reduction against NumPy, over dtypes, views and broadcasting."""
import numpy as np
import pytest

import ndjit

FLOATS = [np.float32, np.float64]
INTS = [np.int8, np.int32, np.int64, np.uint8, np.uint16]

UNARY_FLOAT = ["sin", "cos", "tan", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p",
               "sqrt", "cbrt", "tanh", "sinh", "cosh", "arctan", "arcsinh", "floor", "ceil",
               "trunc", "rint", "absolute", "negative", "square", "sign", "reciprocal",
               "isnan", "isinf", "isfinite", "degrees", "radians", "signbit"]
BINARY = ["add", "subtract", "multiply", "maximum", "minimum", "fmax", "fmin", "equal",
          "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
          "logical_or", "logical_xor"]
BINARY_FLOAT = ["divide", "power", "arctan2", "hypot", "copysign", "logaddexp", "fmod",
                "remainder", "floor_divide", "float_power"]
BINARY_INT = ["bitwise_and", "bitwise_or", "bitwise_xor", "floor_divide", "remainder"]


def close(got, want, dtype):
    got = np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    if np.issubdtype(want.dtype, np.floating):
        rtol = 1e-5 if want.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", UNARY_FLOAT)
def test_unary_float(name, dtype, rng):
    a = (rng.standard_normal((7, 9)) * 3).astype(dtype)
    if name in ("log", "log2", "log10", "sqrt"):
        a = np.abs(a) + dtype(0.5)
    if name == "log1p":
        a = np.abs(a)
    f = getattr(np, name)
    x = ndjit.asarray(a)
    close(f(x), f(a), dtype)
    # Through a view: a negative-stride, non-contiguous slice.
    close(f(x[::-2, 1::3]), f(a[::-2, 1::3]), dtype)


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("name", BINARY)
def test_binary_broadcast(name, dtype, rng):
    a = rng.integers(0, 50, (4, 1, 6)).astype(dtype)
    b = rng.integers(0, 50, (5, 1)).astype(dtype)
    f = getattr(np, name)
    close(f(ndjit.asarray(a), ndjit.asarray(b)), f(a, b), dtype)
    # A NumPy array on one side still builds the graph.
    r = f(a, ndjit.asarray(b))
    assert isinstance(r, ndjit.Array)
    close(r, f(a, b), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", BINARY_FLOAT)
def test_binary_float(name, dtype, rng):
    a = (rng.standard_normal((6, 5)) * 4).astype(dtype)
    b = (np.abs(rng.standard_normal((6, 5))) + 0.5).astype(dtype)
    if name in ("power", "float_power"):
        a = np.abs(a)
    f = getattr(np, name)
    close(f(ndjit.asarray(a), ndjit.asarray(b)), f(a, b), dtype)


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("name", BINARY_INT)
def test_binary_int(name, dtype, rng):
    a = rng.integers(0, 100, (8, 3)).astype(dtype)
    b = rng.integers(1, 9, (8, 3)).astype(dtype)
    f = getattr(np, name)
    close(f(ndjit.asarray(a), ndjit.asarray(b)), f(a, b), dtype)


@pytest.mark.parametrize("dtype", FLOATS + [np.int32, np.uint8])
def test_operators_and_weak_scalars(dtype, rng):
    a = rng.integers(1, 20, (3, 4)).astype(dtype)
    x = ndjit.asarray(a)
    for got, want in [(x + 2, a + 2), (2 * x, 2 * a), (x - 1, a - 1), (x // 3, a // 3),
                      (x % 4, a % 4), (x ** 2, a ** 2), (-x if dtype != np.uint8 else x, -a if dtype != np.uint8 else a),
                      (x > 5, a > 5), (x == 3, a == 3), (abs(x), abs(a)), (x / 2, a / 2),
                      (1.5 * x, 1.5 * a)]:
        close(got, want, dtype)


def test_numpy_scalars_are_strong():
    a = np.arange(4, dtype=np.float32)
    x = ndjit.asarray(a)
    assert (x + 1.0).dtype == np.float32
    assert (x + np.float64(1.0)).dtype == np.float64
    assert (x * np.int64(2)).dtype == np.float64
    assert (np.arange(3, dtype=np.uint8) + ndjit.asarray(np.uint8(200))).dtype == np.uint8


REDUCTIONS = ["sum", "prod", "max", "min", "mean", "var", "std", "any", "all", "argmax",
              "argmin"]


@pytest.mark.parametrize("dtype", FLOATS + [np.int32, np.int64])
@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_reductions(name, dtype, axis, rng):
    a = rng.integers(1, 5, (6, 7)).astype(dtype)
    x = ndjit.asarray(a)
    want = getattr(np, name)(a, axis=axis)
    close(np.asarray(getattr(np, name)(x, axis=axis)), np.asarray(want), dtype)
    close(np.asarray(getattr(x, name)(axis=axis)), np.asarray(want), dtype)


def test_reduction_keepdims_and_fused_expression(rng):
    a = rng.standard_normal((5, 8))
    x = ndjit.asarray(a)
    got = np.exp(x - x.max(axis=1, keepdims=True))
    got = got / got.sum(axis=1, keepdims=True)
    e = np.exp(a - a.max(axis=1, keepdims=True))
    close(got, e / e.sum(axis=1, keepdims=True), np.float64)


def test_ufunc_reduce_method(rng):
    a = rng.standard_normal((4, 3))
    close(np.add.reduce(ndjit.asarray(a)), np.add.reduce(a), np.float64)
    close(np.maximum.reduce(ndjit.asarray(a), axis=1), np.maximum.reduce(a, axis=1), np.float64)


def test_ufunc_outer(rng):
    a = rng.standard_normal((3, 2)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    for u in (np.multiply, np.subtract, np.maximum, np.arctan2, np.greater):
        got = u.outer(ndjit.asarray(a), ndjit.asarray(b))
        assert isinstance(got, ndjit.Array)
        close(got, u.outer(a, b), np.float32)


def test_where_clip_einsum_matmul(rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    x, y = ndjit.asarray(a), ndjit.asarray(b)
    close(np.where(x > 0, x, 2), np.where(a > 0, a, np.float32(2)), np.float32)
    close(np.clip(x, -0.5, 0.5), np.clip(a, -0.5, 0.5), np.float32)
    close(np.einsum("ij,jk->ik", x, y), np.einsum("ij,jk->ik", a, b), np.float32)
    # dtype= computes in that type; a cast that loses values is NumPy's error too.
    with ndjit.no_fallback():
        got = np.einsum("ij,jk->ik", x, y, dtype=np.float64, optimize=False)
    assert got.dtype == np.float64
    close(got, np.einsum("ij,jk->ik", a, b, dtype=np.float64), np.float64)
    with pytest.raises(Exception, match="cannot cast an operand from float32 to int32"):
        np.einsum("ij,jk->ik", x, y, dtype=np.int32)
    close(x @ y, a @ b, np.float32)
    close(np.tanh(x @ y) + 1, np.tanh(a @ b) + 1, np.float32)


def test_views_and_methods(rng):
    a = rng.standard_normal((4, 6))
    x = ndjit.asarray(a)
    close(x.T, a.T, np.float64)
    close(x.reshape(3, 8), a.reshape(3, 8), np.float64)
    close(x.reshape((8, 3)), a.reshape((8, 3)), np.float64)
    close(x[1:3, ::-1], a[1:3, ::-1], np.float64)
    close(x[None, 2, ..., 1:], a[None, 2, ..., 1:], np.float64)
    close(x.astype(np.float32), a.astype(np.float32), np.float32)
    close(x.astype("int32"), a.astype("int32"), np.int32)
    close(np.transpose(x), np.transpose(a), np.float64)
    with ndjit.no_fallback():
        close(np.transpose(x, axes=(1, 0)), a.T, np.float64)
        with pytest.raises(ndjit.FallbackError, match="sort"):
            np.sort(x)
    close(x.squeeze(), a.squeeze(), np.float64)
    assert x.shape == (4, 6) and x.ndim == 2 and x.size == 24 and len(x) == 4


def test_advanced_indexing_matches_numpy(rng):
    a = rng.standard_normal((5, 4))
    x = ndjit.asarray(a) * 2
    close(x[x > 0], (a * 2)[a * 2 > 0], np.float64)
    close(x[[0, 3]], (a * 2)[[0, 3]], np.float64)
    close(x[np.array([1, 2]), 1:], (a * 2)[np.array([1, 2]), 1:], np.float64)


def test_complex_and_real_imag(rng):
    z = (rng.standard_normal(5) + 1j * rng.standard_normal(5))
    x = ndjit.asarray(z)
    close(x * 2, z * 2, np.complex128)
    close(x.real, z.real, np.float64)
    close(x.imag, z.imag, np.float64)
    close(np.abs(x), np.abs(z), np.float64)
    r = ndjit.asarray(np.arange(3.0))
    close(r.imag, np.zeros(3), np.float64)


def test_float16_and_bool():
    a = np.linspace(-2, 2, 11).astype(np.float16)
    close(np.maximum(ndjit.asarray(a), 0), np.maximum(a, np.float16(0)), np.float16)
    m = np.array([True, False, True])
    close(~ndjit.asarray(m), ~m, np.bool_)


NAN_REDUCTIONS = ["nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex128, np.int32])
@pytest.mark.parametrize("name", NAN_REDUCTIONS + ["nanargmax", "nanargmin"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_nan_reductions(name, dtype, axis, rng):
    if dtype == np.complex128 and name in ("nanmax", "nanmin", "nanargmax", "nanargmin"):
        pytest.skip("NumPy orders complex numbers lexicographically; ndjit has no such max")
    a = (rng.standard_normal((5, 6)) * 3).astype(dtype)
    if np.issubdtype(dtype, np.inexact):
        a[rng.random((5, 6)) < 0.3] = np.nan
        if not name.startswith("nanarg"):
            a[2, :] = np.nan  # a slice of NaNs only
    f = getattr(np, name)
    want = f(a, axis=axis)
    got = np.asarray(f(ndjit.asarray(a), axis=axis))
    assert got.dtype == np.asarray(want).dtype
    tol = 2e-3 if dtype in (np.float16, np.float32) else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


def test_nanargmax_of_a_nan_slice_is_numpys_error():
    a = np.array([[1.0, np.nan], [np.nan, np.nan]])
    with pytest.raises(ValueError, match="All-NaN slice encountered"):
        np.nanargmax(ndjit.asarray(a), axis=1)
    assert int(np.nanargmax(ndjit.asarray(a))) == 0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int32,
                                   np.uint16, np.bool_, np.complex64])
def test_running_reductions(dtype, rng):
    a = (rng.standard_normal((4, 5)) * 3).astype(dtype)
    x = ndjit.asarray(a)
    tol = 1e-3 if dtype == np.float16 else 1e-6
    with np.errstate(all="ignore"):
        for f in (np.cumsum, np.cumprod):
            for axis in (None, 0, -1):
                want = f(a, axis=axis)
                got = np.asarray(f(x, axis=axis))
                assert got.dtype == want.dtype
                np.testing.assert_allclose(got, want, rtol=tol, equal_nan=True)
        np.testing.assert_allclose(np.asarray(x.cumsum(axis=1)), a.cumsum(axis=1), rtol=tol)
        for u in (np.add, np.multiply, np.maximum, np.minimum, np.logical_or, np.logical_and):
            if dtype == np.complex64 and u in (np.maximum, np.minimum):
                continue  # NumPy orders complex numbers; ndjit has no such order
            want = u.accumulate(a, axis=1)
            got = np.asarray(u.accumulate(x, axis=1))
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=tol, equal_nan=True)


def test_running_reductions_propagate_nan_and_wrap_like_numpy():
    a = np.array([1.0, np.nan, 3.0])
    np.testing.assert_array_equal(np.asarray(np.maximum.accumulate(ndjit.asarray(a))),
                                  np.maximum.accumulate(a))
    big = np.array([2**62, 2**62, 2**62], dtype=np.int64)
    np.testing.assert_array_equal(np.asarray(np.cumsum(ndjit.asarray(big))), np.cumsum(big))
    with pytest.raises(np.AxisError):
        np.cumsum(ndjit.asarray(np.ones((2, 3))), axis=2)


def bits_equal(got, want):
    got = np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got.view(f"u{want.itemsize}"), want.view(f"u{want.itemsize}"))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_bit_ufuncs_match_numpy_bit_for_bit(dtype):
    fi = np.finfo(dtype)
    a = np.array([0.0, -0.0, 1.0, -1.0, 3.5, -3.5, np.inf, -np.inf, np.nan, fi.max, -fi.max,
                  fi.tiny, -fi.tiny, fi.smallest_subnormal, -fi.smallest_subnormal, 1e-3, 0.75],
                 dtype=dtype)
    b = np.roll(a, 5)
    x = ndjit.asarray(a)
    with np.errstate(all="ignore"):
        bits_equal(np.nextafter(x, ndjit.asarray(b)), np.nextafter(a, b))
        bits_equal(np.spacing(x), np.spacing(a))
        m, e = np.frexp(x)
        bits_equal(m, np.frexp(a)[0])
        bits_equal(e, np.frexp(a)[1])
        for n in [np.arange(-len(a), 0) * 70, np.arange(len(a)) * 70 - 20]:
            bits_equal(np.ldexp(x, ndjit.asarray(n.astype(np.int32))), np.ldexp(a, n.astype(np.int32)))
        bits_equal(np.ldexp(x, 3), np.ldexp(a, 3))


def test_ldexp_exponent_must_be_an_integer():
    with pytest.raises(TypeError, match="ldexp"):
        np.ldexp(ndjit.asarray(np.ones(3)), ndjit.asarray(np.ones(3)))


def test_an_error_while_numpy_reads_the_buffer_is_an_exception():
    # The buffer protocol's callback used to let the C++ exception out, and
    # the process was terminated.
    x = ndjit.asarray(np.array([1, 2, 3])) ** ndjit.asarray(np.array([-1, 1, 1]))
    with pytest.raises(ValueError, match="negative integer powers"):
        np.asarray(x)
    with pytest.raises(ValueError, match="negative integer powers"):
        memoryview(x)


def test_ufunc_at_in_place_like_numpy(rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    x = ndjit.asarray(a.copy())
    keys = [([0, 0, 3],), (slice(None), [1, 1, 4]), (np.array([True, False, True, True]),),
            (2, [0, 4, 4])]
    for key in keys:
        key = key if len(key) > 1 else key[0]
        values = rng.standard_normal(np.empty((4, 5))[key].shape).astype(np.float32)
        np.add.at(a, key, values)
        assert np.add.at(x, key, ndjit.asarray(values)) is None
        np.multiply.at(a, key, 0.5)
        np.multiply.at(x, key, 0.5)
        bits_equal(x, a)
    np.negative.at(a, [1, 1])
    np.negative.at(x, [1, 1])
    bits_equal(x, a)
    with pytest.raises(TypeError, match="same_kind"):
        np.add.at(ndjit.asarray(np.arange(3)), [0], 0.5)
    with pytest.raises(IndexError, match="out of bounds"):
        np.add.at(x, [9], 1.0)
    bits_equal(x, a)
