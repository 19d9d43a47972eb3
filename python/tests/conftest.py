import numpy as np
import pytest

# ndjit follows NumPy 2's promotion rules (NEP 50): NumPy 1.24 has them
# behind this switch.
np._set_promotion_state("weak")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
