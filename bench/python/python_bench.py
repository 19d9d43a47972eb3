"""The Python side of the benchmarks: W2, W3 and W6 from Python with ndjit,
NumPy and numexpr at 1 and 2 threads, W11 per call through evaluate,
re_evaluate and ndjit.jit, and the same W2/W3/W6 through the C++ benchmark
binary in the same run, so the two fronts compare under the same load.

    python3 bench/python/python_bench.py [--ndjit-bench build/bench/ndjit-bench]
        [--out bench/results] [--reps 9]

Medians of `reps` timed calls (each after a warm-up call). Writes
python.json and python.md to --out.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import ndjit

try:
    import numexpr as ne
except ImportError:  # pragma: no cover - install-deps installs it
    ne = None

N = 1 << 24
M = 4096


def median_time(fn, reps, inner=1):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def aligned_copy(x):
    """x in memory aligned to 64 bytes (NumPy's own allocations are aligned to
    16), as ndjit's pool aligns the arrays the C++ benchmarks read."""
    raw = np.empty(x.size + 16, dtype=x.dtype)
    k = (-raw.ctypes.data % 64) // x.itemsize
    out = raw[k:k + x.size].reshape(x.shape)
    out[...] = x
    return out


def workloads(align):
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(N).astype(np.float32) for _ in range(3))
    A = rng.standard_normal((M, M)).astype(np.float32)
    if align:
        a, b, c, A = (aligned_copy(v) for v in (a, b, c, A))
    xa, xb, xc, xA = (ndjit.asarray(v) for v in (a, b, c, A))
    abc = {"a": a, "b": b, "c": c}

    def softmax(m, xp):
        e = xp.exp(m - m.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    cases = {
        "W2": (4 * N * 4,
               {"ndjit": lambda: np.asarray(2 * xa + 3 * xb * xc - xa / (xb + 1)),
                "numpy": lambda: 2 * a + 3 * b * c - a / (b + 1),
                "numexpr": lambda: ne.evaluate("2*a + 3*b*c - a/(b+1)", local_dict=abc)}),
        "W3": (4 * N * 4,
               {"ndjit": lambda: np.asarray(np.tanh(xa) * np.exp(-xb * xb) + np.sqrt(np.abs(xc))),
                "numpy": lambda: np.tanh(a) * np.exp(-b * b) + np.sqrt(np.abs(c)),
                "numexpr": lambda: ne.evaluate("tanh(a)*exp(-b*b) + sqrt(abs(c))",
                                               local_dict=abc)}),
        "W6": (2 * M * M * 4,
               {"ndjit": lambda: np.asarray(softmax(xA, np)),
                "numpy": lambda: softmax(A, np),
                # numexpr has no axis reductions: NumPy's max and sum around it.
                "numexpr": lambda: (lambda e: ne.evaluate("e / s", local_dict={
                    "e": e, "s": e.sum(axis=1, keepdims=True)}))(
                    ne.evaluate("exp(A - m)", local_dict={"A": A, "m": A.max(axis=1, keepdims=True)}))}),
    }
    return cases


def w11(reps):
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal(1000).astype(np.float32) for _ in range(3))
    ex = "2*a + 3*b*c - a/(b+1)"
    d = {"a": a, "b": b, "c": c}
    f = ndjit.jit(lambda a, b, c: 2 * a + 3 * b * c - a / (b + 1))
    # The names come from a dict for both engines (a caller's frame costs
    # both the same frame lookup).
    out = {
        "ndjit.evaluate": lambda: ndjit.evaluate(ex, local_dict=d),
        "ndjit.re_evaluate": lambda: ndjit.re_evaluate(d),
        "ndjit.jit": lambda: f(a, b, c),
        "numpy": lambda: 2 * a + 3 * b * c - a / (b + 1),
    }
    if ne is not None:
        out["numexpr.evaluate"] = lambda: ne.evaluate(ex, local_dict=d)
        out["numexpr.re_evaluate"] = lambda: ne.re_evaluate(d)
    res = {}
    for name, fn in out.items():
        if name.endswith("re_evaluate"):
            (ndjit.evaluate if name.startswith("ndjit") else ne.evaluate)(ex, local_dict=d)
        res[name] = median_time(fn, reps, inner=2000)
    return res


def cpp_figures(binary, reps):
    """W2/W3/W6 ndjit at 1T and 2T and W11 through ndjit::Function from the
    C++ benchmark binary, now."""
    if not binary or not os.path.exists(binary):
        return {}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([binary, "--benchmark_filter=^(W(2|3|6)/ndjit/[12]T|W11/function/1T)/",
                        f"--benchmark_repetitions={reps}", "--benchmark_min_time=0.2",
                        "--benchmark_report_aggregates_only=true", f"--benchmark_out={out.name}",
                        "--benchmark_out_format=json"], check=True, capture_output=True)
        report = json.load(open(out.name))
    res = {}
    for b in report["benchmarks"]:
        if b.get("aggregate_name") == "median":
            name = b["run_name"].removesuffix("/real_time")
            unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
            res[name] = b["real_time"] * unit
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ndjit-bench", default="build/bench/ndjit-bench")
    p.add_argument("--out", default="bench/results")
    p.add_argument("--reps", type=int, default=9)
    args = p.parse_args()
    results = {"workloads": {}, "w11": {}, "cpp": {}}
    # The C++ figures before and after the Python ones, averaged: this host
    # is shared, and its speed drifts over minutes.
    before = cpp_figures(args.ndjit_bench, args.reps)
    rows = []
    for threads in (1, 2):
        ndjit.set_num_threads(threads)
        if ne is not None:
            ne.set_num_threads(threads)
        for align in (False, True):
            for wname, (nbytes, variants) in workloads(align).items():
                for vname, fn in variants.items():
                    if vname == "numexpr" and ne is None:
                        continue
                    if (vname != "ndjit" and align) or (vname == "numpy" and threads == 2):
                        continue  # NumPy is single-threaded whatever the setting
                    t = median_time(fn, args.reps)
                    key = f"{wname}/{vname}{'-aligned' if align else ''}/{threads}T"
                    results["workloads"][key] = t
                    rows.append((key, t, nbytes / t / 1e9))
    ndjit.set_num_threads(1)
    results["w11"] = w11(args.reps)
    after = cpp_figures(args.ndjit_bench, args.reps)
    results["cpp"] = {k: (before[k] + after[k]) / 2 for k in before if k in after}

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "python.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = ["# ndjit from Python (medians; C++: the mean of runs before and after)", "",
             "NumPy's arrays are 16-byte aligned; `-aligned` rows copy the inputs to 64-byte",
             "aligned memory first, as ndjit's pool aligns the C++ benchmarks' arrays.", "",
             "| case | time | effective GB/s | C++ same case | Python / C++ |",
             "|---|---|---|---|---|"]
    for key, t, gbs in rows:
        cpp = results["cpp"].get(key.replace("-aligned", ""))
        ratio = f"{t / cpp:.2f}" if cpp and "/ndjit" in key else ""
        cpp_s = f"{cpp * 1e3:.2f} ms" if ratio else ""
        lines.append(f"| {key} | {t * 1e3:.2f} ms | {gbs:.1f} | {cpp_s} | {ratio} |")
    lines += ["", "| W11 (N = 1000, 1T) | per call |", "|---|---|"]
    for name, t in results["w11"].items():
        lines.append(f"| {name} | {t * 1e6:.2f} us |")
    if "W11/function/1T" in results["cpp"]:
        lines.append(f"| C++ ndjit::Function | {results['cpp']['W11/function/1T'] * 1e6:.2f} us |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "python.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
