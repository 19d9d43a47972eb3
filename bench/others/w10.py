"""W10 (Monte Carlo pi, 10^8 samples) in the tools ../shared/WORKLOADS.md
compares against, re-measured on the current machine: NumPy (idiomatic,
with its temporaries) and numba (fastmath, 1 and 2 threads). Prints the
median of 5 runs after a warm-up, in ms and Gsample/s.

    apt-get install python3-numba   # brings NumPy
    /usr/bin/python3 bench/others/w10.py   # the Debian interpreter
"""
import statistics
import time

import numba
import numpy as np

N = 100_000_000


def numpy_pi(rng):
    x = rng.random(N, dtype=np.float32)
    y = rng.random(N, dtype=np.float32)
    return np.count_nonzero(x * x + y * y < 1.0)


@numba.njit(fastmath=True)
def numba_serial(n):
    inside = 0
    for _ in range(n):
        x = np.random.random()
        y = np.random.random()
        if x * x + y * y < 1.0:
            inside += 1
    return inside


@numba.njit(fastmath=True, parallel=True)
def numba_parallel(n):
    inside = 0
    for _ in numba.prange(n):
        x = np.random.random()
        y = np.random.random()
        if x * x + y * y < 1.0:
            inside += 1
    return inside


def median_ms(fn, runs=5):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        inside = fn()
        times.append((time.perf_counter() - t0) * 1e3)
        assert abs(4.0 * inside / N - np.pi) < 1e-3
    return statistics.median(times)


def report(name, ms):
    print(f"W10/{name:<10} {ms:8.1f} ms  {N / ms / 1e6:6.3f} Gsample/s")


if __name__ == "__main__":
    rng = np.random.default_rng(2026)
    report("numpy/1T", median_ms(lambda: numpy_pi(rng)))
    report("numba/1T", median_ms(lambda: numba_serial(N)))
    numba.set_num_threads(1)
    report("numba-par/1T", median_ms(lambda: numba_parallel(N)))
    numba.set_num_threads(2)
    report("numba/2T", median_ms(lambda: numba_parallel(N)))
