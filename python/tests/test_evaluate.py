"""ndjit.evaluate / re_evaluate as drop-ins for numexpr's."""
import threading

import numpy as np
import pytest

import ndjit

G = np.arange(5.0)  # read through the caller's globals


def test_names_from_the_callers_frame():
    a = np.arange(10.0)
    b = np.linspace(0, 1, 10)
    r = ndjit.evaluate("2*a + 3*b*b")
    assert isinstance(r, np.ndarray)
    np.testing.assert_allclose(r, 2 * a + 3 * b * b)
    np.testing.assert_allclose(ndjit.evaluate("G * 2"), G * 2)
    # Locals shadow globals, as in Python.
    G_ = G  # noqa: F841
    np.testing.assert_allclose(ndjit.evaluate("G_ + G"), G * 2)


def test_dicts_functions_and_where():
    d = {"x": np.linspace(-2, 2, 9), "y": np.arange(9.0)}
    r = ndjit.evaluate("where(x > 0, sin(x) * y, exp(x))", local_dict=d)
    x, y = d["x"], d["y"]
    np.testing.assert_allclose(r, np.where(x > 0, np.sin(x) * y, np.exp(x)))
    r = ndjit.evaluate("sum(x**2)", local_dict=d)
    np.testing.assert_allclose(r, np.sum(x ** 2))


def test_python_numbers_are_weak_and_fixed_per_value():
    a = np.arange(4, dtype=np.float32)
    k = 2.5
    r = ndjit.evaluate("a * k")
    assert r.dtype == np.float32
    np.testing.assert_allclose(r, a * np.float32(2.5))
    k = 4.0
    np.testing.assert_allclose(ndjit.evaluate("a * k"), a * 4)


def test_re_evaluate_reads_the_new_values():
    a = np.arange(6.0)
    b = np.ones(6)
    ndjit.evaluate("a * b + 1")
    a = np.arange(6.0) * 10
    np.testing.assert_allclose(ndjit.re_evaluate(), a * b + 1)
    np.testing.assert_allclose(ndjit.re_evaluate({"a": b, "b": b}), b * b + 1)


def test_out_and_casting():
    a = np.arange(5.0)
    out = np.empty(5)
    r = ndjit.evaluate("a + 1", out=out)
    assert r is out
    np.testing.assert_allclose(out, a + 1)
    bad = np.empty(5, dtype=np.int32)
    with pytest.raises(TypeError):
        ndjit.evaluate("a + 1", out=bad)


def test_broadcasting_views_and_dtypes():
    m = np.arange(12, dtype=np.int32).reshape(3, 4)
    v = np.arange(4, dtype=np.int16)
    np.testing.assert_array_equal(ndjit.evaluate("m[::-1] * v"), m[::-1] * v)
    t = m.T
    np.testing.assert_array_equal(ndjit.evaluate("t + 1"), t + 1)
    assert ndjit.evaluate("t + 1").dtype == np.int32


def test_errors():
    a = np.arange(3.0)
    with pytest.raises(KeyError):
        ndjit.evaluate("a + missing_name")
    with pytest.raises(SyntaxError):
        ndjit.evaluate("a + * 2")
    with pytest.raises(ValueError, match="broadcast"):
        ndjit.evaluate("a + b", local_dict={"a": a, "b": np.ones(4)})
    with pytest.raises(ValueError):
        ndjit.evaluate(3)


def test_threads_evaluate_independently():
    errors = []

    def work(i):
        try:
            x = np.full(1000, float(i))
            for _ in range(50):
                np.testing.assert_allclose(ndjit.evaluate("x * 2 + 1"), x * 2 + 1)
                np.testing.assert_allclose(ndjit.re_evaluate(), x * 2 + 1)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors


def test_agrees_with_numexpr_where_it_agrees_with_numpy():
    ne = pytest.importorskip("numexpr")
    a = np.linspace(0.1, 3, 100)
    b = np.linspace(-1, 1, 100)
    for ex in ["a*b + 2", "sin(a)**2 + cos(b)", "where(b > 0, a, b)", "sqrt(a) / (1 + exp(-b))",
               "arctan2(a, b)", "log1p(a) - expm1(b)", "(a > 1) & (b < 0)"]:
        np.testing.assert_allclose(ndjit.evaluate(ex), ne.evaluate(ex), rtol=1e-13, atol=1e-15)
