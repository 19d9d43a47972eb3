#!/usr/bin/env python3
"""The REPL driven through a pseudo-terminal, as a user types: Ctrl-C stops a
running statement and keeps the variables, Ctrl-C at the prompt clears the
line, and history is appended as each statement is entered (two sessions
side by side keep both). Usage: repl_pty_test.py PATH_TO_NDJIT"""
import os
import pty
import select
import shutil
import sys
import tempfile
import time

CLI = sys.argv[1]
TIMEOUT = 120  # seconds without the expected text: a hang, not slowness


class Repl:
    def __init__(self, home):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["HOME"] = home
            os.environ["TERM"] = "dumb"
            os.execv(CLI, [CLI, "repl"])
        self.seen = ""

    def expect(self, text):
        """Output up to and including `text` (the rest stays unread)."""
        deadline = time.time() + TIMEOUT
        while text not in self.seen:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.time()))
            if not ready:
                raise AssertionError(f"timed out waiting for {text!r}; output so far:\n{self.seen}")
            try:
                chunk = os.read(self.fd, 4096).decode(errors="replace")
            except OSError:
                raise AssertionError(f"the REPL ended before {text!r}; output:\n{self.seen}")
            self.seen += chunk.replace("\r", "")
        i = self.seen.index(text) + len(text)
        before, self.seen = self.seen[:i], self.seen[i:]
        return before

    def send(self, keys):
        os.write(self.fd, keys.encode())

    def close(self):
        self.send("exit\n")
        _, status = os.waitpid(self.pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def main():
    home = tempfile.mkdtemp()
    try:
        r = Repl(home)
        r.expect(">>> ")
        r.send("a = 7\n")
        r.expect(">>> ")
        # A statement of many seconds (lazy random numbers, nothing stored),
        # printed, so it runs.
        r.send("(random.default_rng(1).random((2**18, 2**16)) ** 0.5).sum()\n")
        time.sleep(1.5)
        r.send("\x03")
        out = r.expect(">>> ")
        assert "KeyboardInterrupt" in out, out
        r.send("a + 1\n")
        out = r.expect(">>> ")
        assert "8" in out, out
        # At the prompt: the half-typed line goes, the session stays.
        r.send("abc")
        time.sleep(0.3)
        r.send("\x03")
        out = r.expect(">>> ")
        assert "KeyboardInterrupt" in out, out
        r.send("a\n")
        out = r.expect(">>> ")
        assert "7" in out and "abca" not in out, out
        # History: appended per statement, by two sessions at once.
        other = Repl(home)
        other.expect(">>> ")
        other.send("from_other = 2\n")
        other.expect(">>> ")
        r.send("from_first = 1\n")
        r.expect(">>> ")
        with open(os.path.join(home, ".ndjit_history"), errors="replace") as f:
            text = f.read()
        for name in ("a\\040=\\0407", "from_other", "from_first"):
            assert name in text or name.replace("\\040", " ") in text, (name, text)
        other.close()
        r.close()
        with open(os.path.join(home, ".ndjit_history"), errors="replace") as f:
            text = f.read()
        assert "from_other" in text and "from_first" in text, text
        # Each statement once, in the order entered across both sessions.
        lines = text.splitlines()[1:]
        assert lines.count("a\\040=\\0407") == 1, lines
        assert lines.index("from_other\\040=\\0402") < lines.index("from_first\\040=\\0401"), lines
    finally:
        shutil.rmtree(home)
    print("ok")


if __name__ == "__main__":
    main()
