"""ndjit.random: the lazy counter-based (Philox) generator.

    rng = ndjit.random.default_rng(42)
    x = rng.normal(size=(1000, 1000))     # lazy: generated inside the kernel
    (x * x).mean()                        # that reads it

A value depends only on the seed, the draw's position in the generator's
sequence and the element's index, never on threads or chunking.
"""

from . import _ndjit

__all__ = ["default_rng", "Generator"]


class Generator:
    """NumPy's Generator methods over ndjit's lazy Philox streams."""

    __slots__ = ("_g",)

    def __init__(self, g):
        self._g = g

    def random(self, *args, **kwargs):
        return _ndjit.call("rng.random", (self._g,) + args, kwargs)

    def normal(self, *args, **kwargs):
        return _ndjit.call("rng.normal", (self._g,) + args, kwargs)

    def uniform(self, *args, **kwargs):
        return _ndjit.call("rng.uniform", (self._g,) + args, kwargs)

    def integers(self, *args, **kwargs):
        return _ndjit.call("rng.integers", (self._g,) + args, kwargs)

    def __repr__(self):
        return repr(self._g)


def default_rng(seed=None):
    """A Generator seeded with `seed` (an int)."""
    return Generator(_ndjit.call("random.default_rng", (seed,), {}))
