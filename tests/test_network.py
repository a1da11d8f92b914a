"""The network API: DESIGN §8's worked examples, gradients against finite
differences, prediction outputs, backends agreeing."""
import numpy as np
import pytest

import mlpfast
from mlpfast._kernel_checks import ACTIVATIONS

BACKENDS = ["native", "python"]


def test_xor_by_hand_weights_gives_exact_outputs():
    net = mlpfast.MLP([2, 2, 1], activation="relu", loss="mse", dtype="float64")
    net.layers[0].W = [[1, 1], [1, 1]]
    net.layers[0].b = [0, -1]
    net.layers[1].W = [[1], [-2]]
    net.layers[1].b = [0]
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    np.testing.assert_array_equal(net.forward(X), [[0], [1], [1], [0]])
    np.testing.assert_array_equal(net.predict(X), [0, 1, 1, 0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_neuron_squared_loss(backend):
    # x = 1.5, w = 0.8, b = 0.2, t = 0.8: y = 1.4, L = 0.18, dL/dw = 0.9, dL/db = 0.6
    net = mlpfast.MLP([1, 1], loss="mse", dtype="float64", backend=backend)
    net.layers[0].W, net.layers[0].b = [[0.8]], [0.2]
    loss, ((dW, db),) = net.loss_and_grads([[1.5]], [0.8])
    np.testing.assert_allclose(net.forward([[1.5]]), [[1.4]], rtol=1e-15)
    np.testing.assert_allclose([loss, dW[0, 0], db[0]], [0.18, 0.9, 0.6], rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigmoid_unit_derivative_is_a_quarter(backend):
    # f = σ(wx + b) at x = 1, w = 0, b = 0: ∂f/∂w = 0.25.  With J = f (mse against
    # a target far below, J = ½(f − t)², dJ/dw = (f − t) f'), so use t = f − 1.
    net = mlpfast.MLP([1, 1], output_activation="sigmoid", loss="mse", dtype="float64",
                      backend=backend)
    net.layers[0].W, net.layers[0].b = [[0.0]], [0.0]
    _, ((dW, db),) = net.loss_and_grads([[1.0]], [0.5 - 1.0])
    np.testing.assert_allclose(dW[0, 0], 0.25, rtol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigmoid_network_learns_xor_by_backpropagation(backend):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0], float)
    net = mlpfast.MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid",
                      loss="mse", dtype="float64", seed=3, backend=backend)
    net.fit(X, y, epochs=3000, batch_size=4, optimizer="sgd", learning_rate=2.0,
            shuffle=False)
    out = net.forward(X)[:, 0]
    assert np.all(np.abs(out - y) < 0.1), out


LOSS_CASES = {
    "cross_entropy": (4, lambda rng, n: rng.integers(0, 4, n)),
    "binary_cross_entropy": (3, lambda rng, n: rng.integers(0, 2, (n, 3))),
    "mse": (2, lambda rng, n: rng.standard_normal((n, 2))),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loss", list(LOSS_CASES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradients_match_finite_differences(backend, loss, activation):
    rng = np.random.default_rng(7)
    n_out, make_y = LOSS_CASES[loss]
    X = rng.uniform(-2, 2, (6, 3))
    y = make_y(rng, 6)
    net = mlpfast.MLP([3, 5, 4, n_out], activation=activation, loss=loss, dtype="float64",
                      l2=0.01, seed=1, backend=backend)
    if activation in ("relu", "leaky_relu", "prelu"):   # keep z away from the kink at 0
        for layer in net.layers:
            layer.b = layer.b + 0.05
    _, grads = net.loss_and_grads(X, y)
    assert any(np.abs(dW).max() > 1e-3 for dW, _ in grads), "gradient is all zero"
    assert mlpfast.gradcheck(net, X, y) < 1e-6


def test_prelu_gamma_gradient_is_checked():
    rng = np.random.default_rng(2)
    net = mlpfast.MLP([3, 4, 2], activation="prelu", loss="mse", dtype="float64", seed=0)
    X = rng.uniform(-3, 3, (8, 3))
    net.forward(X)
    net.backward(rng.standard_normal((8, 2)))
    assert np.abs(net.layers[0].dgamma).max() > 1e-4
    np.testing.assert_array_equal(net.layers[0].gamma, 0.25)
    assert mlpfast.gradcheck(net, X, rng.standard_normal((8, 2))) < 1e-6


def test_gradcheck_is_nan_when_nothing_is_checked():
    net = mlpfast.MLP([2, 2], loss="mse", dtype="float64")
    net.layers[0].W = np.zeros((2, 2))
    assert np.isnan(mlpfast.gradcheck(net, np.zeros((3, 2)), np.zeros((3, 2))))


def test_gradcheck_is_the_relative_error_of_design(monkeypatch):
    """Analytic gradients doubled (the loss, which the differences use, kept):
    ‖2g − g‖ / (‖2g‖ + ‖g‖) = 1/3, whatever g is."""
    backward = mlpfast.MLP.backward

    def doubled(self, y):
        loss = backward(self, y)
        for g in self.grads:
            g *= 2
        return loss
    rng = np.random.default_rng(3)
    net = mlpfast.MLP([3, 4, 2], activation="tanh", loss="mse", dtype="float64", seed=0)
    X, y = rng.uniform(-1, 1, (5, 3)), rng.standard_normal((5, 2))
    monkeypatch.setattr(mlpfast.MLP, "backward", doubled)
    assert abs(mlpfast.gradcheck(net, X, y) - 1 / 3) < 1e-8


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_outputs(dtype, backend):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 4))
    ce = mlpfast.MLP([4, 8, 3], dtype=dtype, seed=0, backend=backend)
    proba = ce.predict_proba(X)
    assert proba.shape == (10, 3) and proba.dtype == np.dtype(dtype)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(ce.predict(X), proba.argmax(axis=1))
    bce = mlpfast.MLP([4, 8, 1], loss="binary_cross_entropy", dtype=dtype, seed=0,
                      backend=backend)
    p2 = bce.predict_proba(X)
    assert p2.shape == (10, 2)
    np.testing.assert_allclose(p2.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(bce.predict(X), (p2[:, 1] > 0.5).astype(int))
    multi = mlpfast.MLP([4, 8, 3], loss="binary_cross_entropy", dtype=dtype, seed=0,
                        backend=backend)
    assert multi.predict_proba(X).shape == (10, 3) and multi.predict(X).shape == (10, 3)
    reg = mlpfast.MLP([4, 8, 2], loss="mse", dtype=dtype, seed=0, backend=backend)
    out = reg.predict(X)
    assert reg.score(X, out) == pytest.approx(1.0)
    with pytest.raises(AttributeError, match="predict_proba needs a classification loss"):
        reg.predict_proba(X)


def test_score_is_accuracy_and_r2():
    net = mlpfast.MLP([2, 2, 1], activation="relu", loss="mse", dtype="float64")
    net.layers[0].W, net.layers[0].b = [[1, 1], [1, 1]], [0, -1]
    net.layers[1].W, net.layers[1].b = [[1], [-2]], [0]
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert net.score(X, [0, 1, 1, 0]) == 1.0
    y = np.array([0, 1, 1, 2.0])
    expected = 1 - ((y - [0, 1, 1, 0]) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert net.score(X, y) == pytest.approx(expected)
    clf = mlpfast.MLP([2, 3], seed=0)
    pred = clf.predict(X)
    assert clf.score(X, pred) == 1.0
    assert clf.score(X, (pred + 1) % 3) == 0.0


def test_r2_averages_outputs_and_scores_a_constant_target():
    # per output: 1 - SS_res / SS_tot, or for a constant target 1 when predicted
    # exactly and 0 otherwise; then the mean over outputs
    net = mlpfast.MLP([1, 2], activation="identity", loss="mse", dtype="float64")
    net.layers[0].W, net.layers[0].b = [[0, 1]], [2, 0]        # outputs (2, x)
    X = [[1], [3]]
    assert net.score(X, [[2, 1], [2, 3]]) == 1.0               # constant column hit
    assert net.score(X, [[2, 2], [2, 4]]) == 0.5                # (1 + (1 - 2/2)) / 2
    assert net.score(X, [[5, 1], [5, 3]]) == 0.5               # constant column missed


def test_backends_agree_on_a_short_training_run():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((100, 6)), rng.integers(0, 3, 100)
    nets = [mlpfast.MLP([6, 16, 8, 3], activation=["tanh", "gelu"], dtype="float64", seed=9,
                        l2=1e-3, backend=b) for b in BACKENDS]
    histories = [n.fit(X, y, epochs=3, batch_size=16, optimizer="adam",
                       learning_rate=1e-2) for n in nets]
    np.testing.assert_allclose(histories[0].loss, histories[1].loss, rtol=1e-10)
    for p, q in zip(nets[0].params, nets[1].params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def test_backward_needs_a_forward_first():
    net = mlpfast.MLP([3, 4, 2], seed=0)
    with pytest.raises(RuntimeError, match=r"backward\(y\) needs a forward\(X\) first"):
        net.backward(np.zeros(5, int))


def test_forward_returns_a_copy_of_its_cache():
    """Writing into forward's result does not change what backward sees."""
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    net = mlpfast.MLP([3, 4, 2], dtype="float64", seed=0)
    want, grads = net.loss_and_grads(X, y)
    out = net.forward(X)
    out += 100.0
    assert net.backward(y) == want
    np.testing.assert_array_equal(net.layers[0].dW, grads[0][0])


def test_parameters_are_live_and_assignment_checks_shape():
    net = mlpfast.MLP([3, 4, 2], dtype="float32", seed=0)
    layer = net.layers[0]
    assert layer.W.shape == (3, 4) and layer.b.shape == (4,)
    layer.W[0, 0] = 5.0
    assert net.params[0][0] == 5.0
    layer.W = np.ones((3, 4), np.float64)
    assert layer.W.dtype == np.float32 and layer.W.sum() == 12
    with pytest.raises(ValueError, match=r"W must have shape \(3, 4\)"):
        layer.W = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        layer.b = np.ones(3)
    assert layer.gamma is None
    with pytest.raises(ValueError, match="W must be finite"):
        layer.W = np.full((3, 4), np.nan)
    with pytest.raises(TypeError, match="W must be real numbers"):
        layer.W = np.ones((3, 4), complex)
    with pytest.raises(AttributeError, match="a relu layer has no gamma"):
        layer.gamma = np.ones(4)
    assert layer.W.sum() == 12                  # nothing written by the rejected values


def test_the_buffers_and_layers_the_engine_writes_cannot_be_swapped():
    """net.params[0] = a bigger array once sent the engine past the gradient buffers (a
    crash); the buffers and the layers are fixed, their values editable in place."""
    X, y = np.random.default_rng(0).random((20, 4)), np.zeros(20, int)
    net = mlpfast.MLP([4, 5, 3], seed=0)
    with pytest.raises(TypeError):
        net.params[0] = np.zeros(10 ** 6, np.float32)
    with pytest.raises(TypeError):
        net.layers[0] = net.layers[1]
    for name in ("params", "grads"):
        with pytest.raises(AttributeError):
            setattr(net, name, [np.zeros(10 ** 6, np.float32)] * 2)
    net.params[1][:] = 1.0                      # in place: the biases
    assert all((layer.b == 1).all() for layer in net.layers)
    net.fit(X, y, epochs=1)
    assert all(np.isfinite(p).all() for p in net.params)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")     # np.matrix's
@pytest.mark.parametrize("backend", BACKENDS)
def test_predict_reads_byte_swapped_and_subclassed_arrays(tmp_path, backend):
    """Big-endian X once went to the native forward as it was (wrong classes), and an
    ndarray subclass made predict return None."""
    X = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    net = mlpfast.MLP([4, 5, 3], seed=1, backend=backend)
    expected = net.predict_proba(X)
    mm = np.memmap(tmp_path / "x.bin", np.float32, "w+", shape=X.shape)
    mm[:] = X
    for variant in (X.astype(">f4"), X.astype(">f8"), np.asmatrix(X), mm,
                    np.ma.masked_array(X)):
        np.testing.assert_array_equal(net.predict_proba(variant), expected)
        np.testing.assert_array_equal(net.predict(variant), expected.argmax(axis=1))
        assert net.score(variant, expected.argmax(axis=1)) == 1.0


@pytest.mark.parametrize("activation,expected", [
    ("relu", "he"), ("gelu", "he"), ("tanh", "xavier"), ("sigmoid", "xavier")])
def test_auto_init(activation, expected):
    net = mlpfast.MLP([400, 300, 10], activation=activation, dtype="float64", seed=0)
    W1, W2 = net.layers[0].W, net.layers[1].W
    if expected == "he":
        assert W1.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    else:
        assert np.abs(W1).max() <= np.sqrt(6 / 700)
        assert W1.std() == pytest.approx(np.sqrt(6 / 700) / np.sqrt(3), rel=0.02)
    assert np.abs(W2).max() <= np.sqrt(6 / 310)     # output layer: xavier uniform
    assert not net.layers[0].b.any()


def test_auto_init_gives_a_relu_output_layer_xavier():
    # He is for hidden relu-like layers: the output layer gets Xavier uniform whatever
    # its activation (He normal's 3000 draws of std 0.082 would pass the bound 0.139)
    net = mlpfast.MLP([400, 300, 10], activation="relu", output_activation="relu",
                      loss="mse", dtype="float64", seed=0)
    W2 = net.layers[1].W
    assert np.abs(W2).max() <= np.sqrt(6 / 310)
    assert W2.std() == pytest.approx(np.sqrt(6 / 310) / np.sqrt(3), rel=0.05)


@pytest.mark.parametrize("scheme,std", [
    ("he_uniform", np.sqrt(2 / 500)), ("xavier_normal", np.sqrt(2 / 700)),
    ("lecun", np.sqrt(1 / 500)), ("lecun_uniform", np.sqrt(1 / 500))])
def test_named_init_schemes(scheme, std):
    net = mlpfast.MLP([500, 200], init=scheme, dtype="float64", seed=1)
    assert net.layers[0].W.std() == pytest.approx(std, rel=0.03)


@pytest.mark.parametrize("rows", [1, 2, 100])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inference_is_bitwise_the_same_on_any_thread_count(dtype, rows, threads):
    # inference takes threads from the hand-off team (csrc/team.h), batch-1
    # products too (784 x 256 and up); X as it is, or converted first
    net = mlpfast.MLP([300, 517, 10], dtype=dtype, seed=0)
    X = np.random.default_rng(1).standard_normal((rows, 300))
    threads(1)
    want = net.forward(X)                           # the layer path, OpenMP kernels
    for n_threads in (1, 2, 3):
        threads(n_threads)
        for x in (X.astype(dtype), np.asfortranarray(X), X.tolist()):
            np.testing.assert_array_equal(net._output(x), want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_big_batches_run_in_blocks_of_rows_with_the_layer_path_s_bits(dtype, threads):
    # the one-call forward takes a big batch a block of rows at a time (2 048 rows of
    # this width in float32, 1 024 in float64): a ragged last block, outputs and argmax
    net = mlpfast.MLP([64, 128, 128, 10], dtype=dtype, seed=0)
    X = np.random.default_rng(3).standard_normal((2 * 2048 + 37, 64)).astype(dtype)
    threads(2)
    want = net.forward(X)                           # the layer path, layer after layer
    np.testing.assert_array_equal(net._output(X), want)
    np.testing.assert_array_equal(net.predict(X), np.argmax(want, axis=1))


def test_a_forced_simd_path_reaches_inference(nat):
    """set_simd_path forces inference's copy of the GEMM too (each extension module
    links its own): under each path the one-call forward equals the layer path, and
    the generic path's sums (no fused multiply-add) differ from the best path's."""
    net = mlpfast.MLP([300, 517, 10], dtype="float64", seed=0)
    X = np.random.default_rng(2).standard_normal((64, 300))
    results = {}
    try:
        for name in nat.build_info()["simd_supported"]:
            nat.set_simd_path(name)
            results[name] = net._output(X)
            np.testing.assert_array_equal(results[name], net.forward(X))
    finally:
        nat.set_simd_path(None)
    best = nat.build_info()["simd_best"]
    if best != "generic":
        assert not np.array_equal(results["generic"], results[best])


def _ready(X):
    """X as the native forward call takes it without a conversion: C-contiguous float32."""
    return np.ascontiguousarray(X, np.float32)


BAD_PREDICT = [
    (_ready(np.full((3, 4), np.nan)), ValueError, "X must be finite"),    # the fast path's check
    (_ready([[0, 1, np.inf, 2]]), ValueError, "X must be finite"),
    ([[0.0, np.nan, 1.0, 2.0]], ValueError, "X must be finite"),          # converted first
    (_ready(np.zeros((3, 5))), ValueError, "X must have 4 columns"),
    (_ready(np.zeros(4)), ValueError, "X must be 2-D"),
    (_ready(np.zeros((0, 4))), ValueError, "X must have at least one row"),
    ([["a"] * 4], TypeError, "X must hold real numbers"),
]


@pytest.mark.parametrize("method", ["forward", "predict", "predict_proba"])
@pytest.mark.parametrize("X,error,match", BAD_PREDICT)
def test_inference_bad_input(method, X, error, match):
    net = mlpfast.MLP([4, 8, 3], dtype="float32", seed=0)
    with pytest.raises(error, match=match):
        getattr(net, method)(X)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_takes_the_argmax_as_numpy_does(dtype):
    # predict's argmax runs inside the native forward call: ties go to the first
    # largest output and a NaN counts as largest, as in numpy.argmax
    big = np.finfo(dtype).max / 4
    net = mlpfast.MLP([2, 2, 5], activation="identity", dtype=dtype, seed=0)
    net.layers[0].W, net.layers[0].b = np.diag([big, big]), np.zeros(2)
    net.layers[1].W = np.array([[1, 1, 0, 1, 1],       # inf x 0 = NaN where a row has 0
                                [0, 1, 0, 1, 1]])
    net.layers[1].b = np.array([1, 3, 0, 3, 2])
    # ties; a NaN among infs; a NaN first and another later; ties at big
    X = np.array([[0, 0], [10, 0], [0, 10], [1, 0]], dtype)
    out = net.forward(X)
    assert out[0, 1] == out[0, 3] and np.isnan(out[1, 2]) and np.isinf(out[1, 0])
    assert np.isnan(out[2, 0]) and np.isnan(out[2, 2]) and out[3, 0] == out[3, 1]
    labels = net.predict(X)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, np.argmax(out, axis=1))
    np.testing.assert_array_equal(labels, [1, 2, 0, 0])
