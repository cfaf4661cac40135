"""Shared test setup: every test starts from the same random state."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seeded_random():
    np.random.seed(0)
    yield
