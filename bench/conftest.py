"""Shared benchmark setup: inputs are made outside the timed call, results are
checked after timing, and every group pits the native kernel against its
reference twin (and peers, each skipped cleanly when not installed)."""
import numpy as np
import pytest

import mlpfast
import mlpfast.reference

try:
    import mlpfast.native as native
except ImportError:  # pragma: no cover - a broken build benchmarks nothing native
    native = None

BACKENDS = ["native", "reference"]


@pytest.fixture(params=BACKENDS)
def kernels(request):
    """(name, kernel namespace) for each backend."""
    if request.param == "native":
        if native is None:
            pytest.skip("native backend not built")
        return "native", native
    return "reference", mlpfast.reference


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def n_threads():
    return mlpfast.get_num_threads()
