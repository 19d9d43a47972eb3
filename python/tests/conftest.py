import numpy as np
import pytest
from hypothesis import settings

# No example database: the source tree stays as it was (ctest runs here).
settings.register_profile("ndjit", database=None)
settings.load_profile("ndjit")

# ndjit follows NumPy 2's promotion rules (NEP 50): NumPy 1.24 has them
# behind this switch.
np._set_promotion_state("weak")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
