"""ndjit.dask on a real two-process cluster: results against the same graph
run by Dask + NumPy on the same cluster, the rewrite's decisions, chunking-
independent random numbers, worker threads, a worker killed mid-computation,
and bad input."""

import os
import signal
import time

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402

import ndjit  # noqa: E402
import ndjit.dask as nd  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # Workers start with this environment: NumPy 2's promotion rules (as the
    # tests' own process has), and no silent NumPy fallback inside a chunk.
    os.environ["NPY_PROMOTION_STATE"] = "weak"
    os.environ["NDJIT_DASK_STRICT"] = "1"
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def both(x):
    """x computed on the cluster by Dask + NumPy, then with ndjit."""
    ref = x.compute()
    with nd.enabled():
        got = x.compute()
    return ref, got


def ndjit_layers(x):
    return [name for name, reason in nd.report(x) if reason == "ndjit"]


@pytest.fixture(scope="module")
def data():
    rs = np.random.RandomState(7)
    return {
        "x": rs.standard_normal((300, 200)).astype(np.float32),
        "y": rs.standard_normal(200).astype(np.float32),
        "i": rs.randint(-1000, 1000, (300, 200)).astype(np.int32),
        "d": rs.standard_normal((300, 200)),
    }


EXACT = {
    "arith": lambda x, y, i, d: x * 2 + y - 1.5,
    "int": lambda x, y, i, d: (i * 3 - 7) // 5 + i % 11,
    "bits": lambda x, y, i, d: (i & 0xFF) ^ (i >> 2),
    "compare": lambda x, y, i, d: (x > y) & (i != 3),
    "where": lambda x, y, i, d: da.where(x > 0, x, y),
    "cast": lambda x, y, i, d: (x * 2).astype(np.float64) + d,
    "minmax": lambda x, y, i, d: da.maximum(x, y) - da.minimum(d, 0.5),
    "sqrt_abs": lambda x, y, i, d: np.sqrt(abs(d)) / (1 + abs(x)),
    "slice": lambda x, y, i, d: x[::2, 1:] * y[1:],
}

MATH = {
    "tanh_exp": lambda x, y, i, d: np.tanh(x) * np.exp(-abs(d)) + np.sqrt(abs(x)),
    "log_sin": lambda x, y, i, d: np.log1p(abs(d)) + np.sin(x) * np.cos(y),
}


def arrays(data, chunks=(64, 50)):
    return (da.from_array(data["x"], chunks=chunks), da.from_array(data["y"], chunks=chunks[1]),
            da.from_array(data["i"], chunks=chunks), da.from_array(data["d"], chunks=chunks))


@pytest.mark.parametrize("name", sorted(EXACT))
def test_elementwise_exact_ops_are_bit_identical(client, data, name):
    x = EXACT[name](*arrays(data))
    assert ndjit_layers(x), nd.report(x)
    ref, got = both(x)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("name", sorted(MATH))
def test_elementwise_math_within_ulp_bounds(client, data, name):
    x = MATH[name](*arrays(data))
    assert ndjit_layers(x)
    ref, got = both(x)
    assert got.dtype == ref.dtype
    # A few float32 ULP (the float32 terms') of the terms' magnitude: a sum of
    # terms may cancel to ~0, where a relative bound means nothing.
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=0, atol=4 * np.finfo(np.float32).eps * scale)


REDUCTIONS = {
    "sum": lambda e: e.sum(), "sum0": lambda e: e.sum(axis=0), "prod1": lambda e: (
        e * 0.01 + 1).prod(axis=1), "min": lambda e: e.min(), "max0": lambda e: e.max(axis=0),
    "mean": lambda e: e.mean(), "mean1": lambda e: e.mean(axis=1), "var": lambda e: e.var(),
    "std0": lambda e: e.std(axis=0), "any": lambda e: (e > 2).any(axis=0),
    "all": lambda e: (e > -5).all(), "argmin": lambda e: e.argmin(),
    "argmax1": lambda e: e.argmax(axis=1), "argmax0": lambda e: e.argmax(axis=0),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_fuse_the_expression(client, data, name):
    x, y, _, d = arrays(data)
    r = REDUCTIONS[name](x * 2 + y - d)
    # The expression and the per-chunk step are one ndjit layer.
    assert len(ndjit_layers(r)) >= 1
    ref, got = both(r)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    if name.startswith(("arg", "any", "all", "min", "max")):
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_matmul_and_einsum_chunks_run_in_ndjit(client, data):
    x, y, _, d = arrays(data, chunks=(100, 50))
    a = np.tanh(x) + y
    for r in (da.matmul(a, a.T), da.einsum("ij,kj->ik", a, a), a.T @ d):
        assert ndjit_layers(r)
        ref, got = both(r)
        assert got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-4)


def test_random_values_do_not_depend_on_chunking(client):
    whole = np.asarray(ndjit.random.default_rng(11).random(size=(90, 70), dtype=np.float32))
    for chunks in ((90, 70), (30, 20), (17, 70), (1, 9)):
        r = nd.random(11, (90, 70), chunks=chunks, dtype=np.float32)
        np.testing.assert_array_equal(r.compute(), whole)
    n = nd.normal(3, (40, 30), chunks=(7, 11), loc=2.0, scale=0.5)
    np.testing.assert_array_equal(
        n.compute(), np.asarray(ndjit.random.default_rng(3).normal(2.0, 0.5, size=(40, 30))))
    # Generated inside the kernel that reads it.
    e = nd.uniform(5, (60, 60), chunks=(20, 30), low=-1, high=1) * 3 + 1
    assert ndjit_layers(e)
    with nd.enabled():
        got = e.compute()
    want = np.asarray(ndjit.random.default_rng(5).uniform(-1, 1, size=(60, 60))) * 3 + 1
    np.testing.assert_array_equal(got, want)


def test_from_npy_reads_chunks_in_place(client, tmp_path, data):
    path = tmp_path / "x.npy"
    np.save(path, data["d"])
    x = nd.from_npy(path, chunks=(64, 64))
    e = (x - x.mean(axis=0)) / x.std(axis=0)
    # Every layer that computes runs in ndjit (std's square root included).
    reasons = dict(nd.report(e))
    assert [r for r in reasons.values() if r != "ndjit"] == ["no array work"], reasons
    ref, got = both(e)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_workers_run_ndjit_on_the_threads_dask_gives_them(client):
    assert set(client.run(ndjit.get_num_threads).values()) == {1}
    assert set(client.run(lambda: os.environ.get("OMP_NUM_THREADS")).values()) == {"1"}


def test_layers_ndjit_does_not_implement_stay_dask(client, data):
    x = da.from_array(data["x"], chunks=(64, 50))
    odd = x.map_blocks(lambda b: np.sort(b, axis=1)) + 1     # a Python function
    reasons = dict(nd.report(odd))
    assert all(r != "ndjit" for r in reasons.values()), reasons
    ref, got = both(odd)
    np.testing.assert_array_equal(got, ref)
    # A dtype ndjit has no kernels for: datetime arithmetic stays NumPy's.
    t = da.from_array(np.arange(12).astype("datetime64[s]"), chunks=5) + np.timedelta64(3, "s")
    assert not ndjit_layers(t)
    ref, got = both(t)
    np.testing.assert_array_equal(got, ref)


def test_bad_input_gets_dasks_error(client, data):
    x = da.from_array(data["x"], chunks=(64, 50))
    z = da.ones((7, 3), chunks=2)
    with nd.enabled(), pytest.raises(ValueError):
        (x + z).compute()


def test_the_rewritten_graph_pickles_without_code(data):
    import pickle

    x, y, _, _ = arrays(data)
    e = np.tanh(x) * y
    graph = nd.optimize(e.__dask_graph__(), e.__dask_keys__())
    blob = pickle.dumps(dict(graph))
    assert b"FusedChunk" in blob and b"tanh" in blob


def test_a_killed_worker_gives_the_same_bits(client):
    # Enough work per chunk that the computation is still running when one
    # of the two worker processes is killed; Dask reruns its lost tasks.
    x = nd.random(1, (96, 2**22), chunks=(1, 2**22), dtype=np.float32)
    e = (np.tanh(x) * np.exp(-x) + np.sqrt(x)).sum(axis=1)
    with nd.enabled():
        want = e.compute()
        pids = client.run(os.getpid)
        fut = client.compute(e)
        time.sleep(0.2)
        assert not fut.done()
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        got = fut.result(timeout=300)
    np.testing.assert_array_equal(got, want)


def test_threaded_scheduler_without_cluster(data):
    x, y, _, d = arrays(data)
    e = (np.exp(x) + y * d).sum(axis=0)
    with dask.config.set(scheduler="threads"):
        ref = e.compute()
        with nd.enabled():
            got = e.compute()
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_the_example_runs(tmp_path):
    import subprocess
    import sys

    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dask_pipeline.py")
    r = subprocess.run([sys.executable, example, "--rows", "6000", "--cols", "64", "--path",
                        str(tmp_path / "x.npy"), "--memory-limit", "512MiB"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "largest relative difference" in r.stdout
