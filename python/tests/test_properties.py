"""Random expressions over random shapes and dtypes, NumPy as the oracle."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ndjit

UNARY = [np.negative, np.absolute, np.square, np.sin, np.exp, np.tanh, np.floor, np.sqrt]
BINARY = [np.add, np.subtract, np.multiply, np.maximum, np.minimum, np.divide]
DTYPES = [np.float32, np.float64]


@st.composite
def expressions(draw):
    """An expression tree (as a function of the two operands) of up to 6 ops."""
    ops = draw(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 7), st.floats(-3, 3)),
                        min_size=1, max_size=6))

    def build(a, b):
        x = a
        for kind, which, k in ops:
            if kind == 0:
                f = UNARY[which % len(UNARY)]
                x = f(np.abs(x) + 0.5) if f is np.sqrt else f(x)
            else:
                f = BINARY[which % len(BINARY)]
                x = f(x, b + (1.5 if f is np.divide else 0)) * round(k, 2)
        return x

    return build


shapes = st.sampled_from([((7,), (7,)), ((3, 5), (5,)), ((4, 1), (1, 6)), ((2, 3, 4), (3, 1)),
                          ((1,), (9,)), ((0, 3), (3,))])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), shapes, st.sampled_from(DTYPES), st.integers(0, 2**31 - 1),
       st.booleans())
def test_expressions_match_numpy(build, shape_pair, dtype, seed, reverse_view):
    rng = np.random.default_rng(seed)
    sa, sb = shape_pair
    a = (rng.standard_normal(sa) * 2).astype(dtype)
    b = (np.abs(rng.standard_normal(sb)) + 0.1).astype(dtype)
    if reverse_view and a.ndim >= 1:
        a = a[::-1]
    with np.errstate(all="ignore"):
        want = build(a, b)
        got = np.asarray(build(ndjit.asarray(a), ndjit.asarray(b)))
        # The same expression in more precision: where NumPy's own answer
        # moves with the rounding (sin of a large product, say), a fused
        # kernel's rounding (FMA contraction) moves it too, so those elements
        # say nothing about ndjit.
        wide = np.longdouble if dtype == np.float64 else np.float64
        exact = build(a.astype(wide), b.astype(wide))
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = 2e-4 if dtype == np.float32 else 1e-10
    stable = np.isclose(want, exact, rtol=tol / 10, atol=tol / 10, equal_nan=True)
    assert want.size == 0 or stable.any()
    np.testing.assert_allclose(got[stable], want[stable], rtol=tol, atol=tol, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([(5, 6), (1, 9), (8, 1), (3, 4, 5)]), st.sampled_from(DTYPES),
       st.sampled_from(["sum", "max", "min", "mean", "prod"]), st.integers(-1, 1),
       st.integers(0, 2**31 - 1))
def test_fused_reductions_match_numpy(shape, dtype, name, axis, seed):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    f = getattr(np, name)
    want = f(np.tanh(a) * 2 + 1, axis=axis)
    got = np.asarray(f(np.tanh(ndjit.asarray(a)) * 2 + 1, axis=axis))
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
