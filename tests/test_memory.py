"""Cache-line-aligned buffers (mlpfast/_memory.py): the helpers themselves, and
the network's parameters, gradients, optimiser state and workspaces using them."""
import numpy as np
import pytest

import mlpfast
from mlpfast import _memory


def _aligned(a):
    return a.ctypes.data % _memory.ALIGN == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
@pytest.mark.parametrize("shape", [1, 7, (3, 5), (1, 1), (784, 256), (0, 5)])
def test_helpers_give_aligned_contiguous_arrays(shape, dtype):
    want = (shape,) if isinstance(shape, int) else shape
    z = _memory.zeros(shape, dtype)
    e = _memory.empty_like(z)
    for a in (z, e, _memory.zeros_like(z)):
        assert a.shape == want and a.dtype == dtype
        assert a.flags.c_contiguous and a.flags.writeable
        assert a.size == 0 or _aligned(a)
    assert not z.any()
    e[...] = 1          # the whole of it is its own memory
    assert e.sum() == e.size


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_buffers_are_aligned(dtype):
    net = mlpfast.MLP([13, 7, 3], activation="prelu", loss="cross_entropy", dtype=dtype,
                      seed=0)
    X = np.random.default_rng(0).random((50, 13))
    net.fit(X, np.arange(50) % 3, epochs=1, batch_size=16, optimizer="adam")
    assert all(_aligned(p) for p in net.params + net.grads)
    assert all(_aligned(s) for state in net.optimizer.state for s in state.values())
    assert _aligned(net.layers[0].W)                  # the first layer's weights lead
    for layer in net.layers:
        assert all(_aligned(a) for a in (layer.Z, layer.A, layer.delta))
