"""One must-fail case: the `ndjit` binary given this input must exit with a
non-zero status and an `error:` line, not by a signal, not with a sanitizer's
report, not hang (ctest's timeout). A .ndjit file runs as a script; a .npy
file is read twice, as an --in operand and memory-mapped by load().

    python3 check.py NDJIT_BINARY CASE_FILE
"""
import os
import signal
import subprocess
import sys

SANITIZER_REPORTS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "ThreadSanitizer")


def check(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=300)
    out = r.stdout + r.stderr
    what = " ".join(cmd)
    if r.returncode < 0:
        return f"{what}: killed by {signal.Signals(-r.returncode).name}\n{out[-2000:]}"
    if r.returncode == 0:
        return f"{what}: exited 0 (it must fail)\n{out[-2000:]}"
    if not any("error:" in line for line in out.splitlines()):
        return f"{what}: exited {r.returncode} without an `error:` line\n{out[-2000:]}"
    for s in SANITIZER_REPORTS:
        if s in out:
            return f"{what}: {s}\n{out[-4000:]}"
    return None


def main():
    cli, case = sys.argv[1], os.path.abspath(sys.argv[2])
    if case.endswith(".npy"):
        cmds = [[cli, "eval", "x * 1", "--in", f"x={case}"],
                [cli, "eval", f"sum(load('{case}', mmap_mode='r'))"]]
    else:
        cmds = [[cli, "run", case]]
    failures = [f for f in map(check, cmds) if f]
    for f in failures:
        print(f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
