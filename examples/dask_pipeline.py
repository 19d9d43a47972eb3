"""Feature standardisation and a row softmax over a memory-mapped .npy larger
than one worker's memory limit, on a local multi-process Dask cluster: Dask
plans and schedules, ndjit runs each chunk's fused work. Prints the time of the
same graph with Dask + NumPy and with Dask + ndjit, and checks they agree.

    python3 examples/dask_pipeline.py [--rows 2000000] [--cols 256]
        [--workers 2] [--memory-limit 1GiB] [--scheduler tcp://host:8786]

The file (rows x cols float32; the default is 2 GiB) is written once to --path.
With --scheduler, the work goes to an existing cluster instead (its workers
need ndjit installed and --path readable).
"""
import argparse
import os
import time

import numpy as np

import dask
import dask.array as da
import distributed

import ndjit.dask as nd


def write_input(path, rows, cols):
    if os.path.exists(path):
        head = np.load(path, mmap_mode="r")
        if head.shape == (rows, cols) and head.dtype == np.float32:
            return
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, cols))
    rng = np.random.default_rng(0)
    step = max(1, (64 << 20) // (4 * cols))
    scale = rng.uniform(0.5, 4.0, cols).astype(np.float32)
    for r in range(0, rows, step):
        n = min(step, rows - r)
        out[r:r + n] = rng.standard_normal((n, cols), dtype=np.float32) * scale + 3
    out.flush()
    del out


def pipeline(x):
    """Standardise each feature (column), then a softmax over each row; the
    result per row is its entropy."""
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return -(p * np.log(p)).sum(axis=1)


def run(client, x, use_ndjit):
    with dask.config.set(array_optimize=nd.optimize if use_ndjit else None):
        t0 = time.perf_counter()
        fut = client.compute(pipeline(x))
        distributed.progress(fut)
        result = fut.result()
        return result, time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--path", default="/tmp/ndjit-dask-example.npy")
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--cols", type=int, default=256)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="1GiB")
    p.add_argument("--scheduler", default=None)
    args = p.parse_args()

    write_input(args.path, args.rows, args.cols)
    size = args.rows * args.cols * 4
    if args.scheduler:
        client, cluster = distributed.Client(args.scheduler), None
    else:
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                           processes=True, memory_limit=args.memory_limit,
                                           dashboard_address=None, silence_logs=50)
        client = distributed.Client(cluster)
    try:
        # 32 MiB row blocks: whole rows, so the softmax's reductions stay in a chunk.
        x = nd.from_npy(args.path, chunks=(max(1, (32 << 20) // (4 * args.cols)), args.cols))
        print(f"{args.path}: {size / 2**30:.2f} GiB in {x.npartitions} chunks; "
              f"{len(client.scheduler_info()['workers'])} workers of {args.memory_limit}")
        print("Dask + NumPy:")
        ref, t_np = run(client, x, False)
        print(f"\n  {t_np:.2f} s")
        print("Dask + ndjit:")
        got, t_nd = run(client, x, True)
        print(f"\n  {t_nd:.2f} s ({t_np / t_nd:.2f}x)")
        worst = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-6)))
        print(f"mean row entropy {float(got.mean()):.6f}; largest relative difference "
              f"from Dask + NumPy {worst:.1e}")
        if worst > 1e-4:
            raise SystemExit("error: ndjit and NumPy disagree")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
