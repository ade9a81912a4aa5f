"""Shared fixtures; test_torch_gpu.py is collected only with --gpu (it needs torch and a CUDA GPU,
which CI does not have: CI runs the numpy tests, the device runs `pytest --gpu`)."""

import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption("--gpu", action="store_true",
                     help="also collect test_torch_gpu.py (torch + a CUDA GPU)")


def pytest_ignore_collect(collection_path, config):
    if collection_path.name == "test_torch_gpu.py" and not config.getoption("--gpu"):
        return True
    return None


@pytest.fixture
def rng():
    """Fresh inputs every run; the seed is printed, so a failure can be replayed."""
    seed = np.random.SeedSequence().entropy
    print(f"seed {seed}")
    return np.random.default_rng(seed)
