"""D2, D3, D6: W2, W3 and W6 over 2^28 float32 values (W6: 16384 x 16384) in
64 MiB chunks on a two-process Dask LocalCluster (one thread per worker),
Dask + NumPy against Dask + ndjit on the same cluster in the same run; and
the scheduling overhead per chunk task on a no-op-sized graph.

    python3 bench/python/dask_bench.py [--out bench/results] [--reps 5]
        [--log2n 28]

Inputs are generated on the workers and kept there (persisted); a timed run
computes the result into worker memory (persist + wait) so no time goes to
moving it to the client. Medians of `reps` runs after a warm-up run each.
Writes dask.json and dask.md to --out.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np

import dask
import dask.array as da
import distributed

import ndjit
import ndjit.dask as nd


def w2(a, b, c):
    return 2 * a + 3 * b * c - a / (b + 1)


def w3(a, b, c):
    return np.tanh(a) * np.exp(-b * b) + np.sqrt(abs(c))


def w6(A):
    e = np.exp(A - A.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _released(key, dask_scheduler=None):
    return key not in dask_scheduler.tasks


def timed(client, make, reps, use_ndjit):
    def once():
        with dask.config.set(array_optimize=nd.optimize if use_ndjit else None):
            t0 = time.perf_counter()
            r = client.persist(make())
            distributed.wait(r)
            t = time.perf_counter() - t0
        # Results are kept by key: the next run must not find this one's.
        key = r.__dask_keys__()
        while isinstance(key, list):
            key = key[0]
        del r
        while not client.run_on_scheduler(_released, key):
            time.sleep(0.005)
        return t

    once()
    return statistics.median(once() for _ in range(reps))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="bench/results")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--log2n", type=int, default=28)
    args = p.parse_args()

    n = 1 << args.log2n
    chunk = (64 << 20) // 4  # 64 MiB of float32
    side = 1 << (args.log2n // 2)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    rows = []
    try:
        # Inputs in worker memory, as NumPy arrays (computed once, by ndjit's
        # generator: any source would do).
        a, b, c = (client.persist(nd.normal(s, (n,), chunks=chunk, dtype=np.float32))
                   for s in (1, 2, 3))
        A = client.persist(nd.normal(4, (side, side), chunks=(chunk // side, side),
                                     dtype=np.float32))
        distributed.wait([a, b, c, A])
        cases = [("D2", lambda: w2(a, b, c), 4 * n * 4), ("D3", lambda: w3(a, b, c), 4 * n * 4),
                 ("D6", lambda: w6(A), 2 * side * side * 4)]
        for name, make, nbytes in cases:
            t_np = timed(client, make, args.reps, False)
            t_nd = timed(client, make, args.reps, True)
            rows.append({"case": name, "dask_numpy_s": t_np, "dask_ndjit_s": t_nd,
                         "speedup": t_np / t_nd, "ndjit_GBps": nbytes / t_nd / 1e9})
            print(f"{name}: Dask+NumPy {t_np * 1e3:.0f} ms, Dask+ndjit {t_nd * 1e3:.0f} ms, "
                  f"{t_np / t_nd:.2f}x", flush=True)

        # Scheduling overhead: 2000 chunks of 8 values, `x + 1`: the time per
        # task is Dask's bookkeeping plus the chunk call.
        small = client.persist(da.ones(2000 * 8, chunks=8, dtype=np.float32))
        distributed.wait(small)
        tasks = 2000
        t_np = timed(client, lambda: small + 1, args.reps, False) / tasks
        t_nd = timed(client, lambda: small + 1, args.reps, True) / tasks
        rows.append({"case": "task overhead", "dask_numpy_s": t_np, "dask_ndjit_s": t_nd,
                     "speedup": t_np / t_nd, "ndjit_GBps": None})
        print(f"per task: Dask+NumPy {t_np * 1e6:.0f} us, Dask+ndjit {t_nd * 1e6:.0f} us "
              f"({t_nd / t_np:.2f}x)", flush=True)
    finally:
        client.close()
        cluster.close()

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "dask.json"), "w") as f:
        json.dump({"log2n": args.log2n, "reps": args.reps, "rows": rows}, f, indent=1)
    with open(os.path.join(args.out, "dask.md"), "w") as f:
        f.write(f"| case (2^{args.log2n} float32, 64 MiB chunks, 2 workers x 1 thread) "
                "| Dask + NumPy | Dask + ndjit | ratio |\n|---|---|---|---|\n")
        for r in rows:
            unit, k = ("us", 1e6) if r["case"] == "task overhead" else ("ms", 1e3)
            f.write(f"| {r['case']} | {r['dask_numpy_s'] * k:.1f} {unit} | "
                    f"{r['dask_ndjit_s'] * k:.1f} {unit} | {r['speedup']:.2f}x |\n")


if __name__ == "__main__":
    main()
