"""The peers that mlpfast is benchmarked against, one small section each.

Each peer is importable without the others: PyTorch and scikit-learn are
imported inside the functions that need them (the tests call
``pytest.importorskip`` first), and the NumPy MLP needs only NumPy.

Every training side exposes the same shape of callable: ``epoch()`` runs one
epoch of plain SGD (forward + backward + update per batch, relu hidden layers,
identity output, loss mean over the batch) and returns nothing; the tests time
it and divide by the number of steps.  Inputs are built by ``make_data`` once,
outside the timed call.
"""
import os
import statistics
import subprocess
import sys
import time

import numpy as np

# name: (layer sizes, batch, loss, batches per epoch)
CONFIGS = {
    "tiny": ([16, 32, 32, 1], 32, "mse", 64),
    "small": ([64, 128, 128, 10], 64, "cross_entropy", 64),
    "mnist": ([784, 256, 128, 10], 128, "cross_entropy", 64),
    "wide": ([1024, 2048, 2048, 10], 512, "cross_entropy", 8),
}
THREADS = 2
LEARNING_RATE = 0.01


def steps_at_once(config, threads, batch, copies, seconds, root=None):
    """Median µs per train step of each of `copies` trainings of `config` (mlpfast,
    batches of `batch`, on `threads` threads), each in a process of its own
    (``ab_builds.py step``), all started together: independent work on the cores,
    sharing neither a GIL nor anything else a process holds.  root: the source tree to
    import mlpfast from (default: where the mlpfast imported here lives)."""
    if root is None:
        import mlpfast
        root = os.path.dirname(os.path.dirname(os.path.abspath(mlpfast.__file__)))
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "ab_builds.py"),
           "step", root, root, "--config", config, "--threads", str(threads),
           "--batch", str(batch), "--seconds", str(seconds)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(copies)]
    outs = [proc.communicate()[0] for proc in procs]
    if any(proc.returncode for proc in procs):
        raise RuntimeError(f"a timing process failed: {' '.join(cmd)}")
    return [float(out.split()[-1]) for out in outs]


def step_flops(sizes, batch):
    """FLOPs of one SGD step: 2·N·Σ m_{l-1} m_l for each of the three products
    (forward X·W, dW = Xᵀ·δ, δ·Wᵀ) of every layer, as the issue counts them."""
    return 6.0 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def gemm_products():
    """(label, M, N, K, trans_a, trans_b) of the three products of each config's
    largest layer (where a train step spends its time), plus a 1024³ square."""
    out = []
    for name, (sizes, batch, _, _) in CONFIGS.items():
        fan_in, fan_out = max(zip(sizes[:-1], sizes[1:]), key=lambda p: p[0] * p[1])
        out += [(f"{name} forward", batch, fan_out, fan_in, False, False),
                (f"{name} dW", fan_in, fan_out, batch, True, False),
                (f"{name} dX", batch, fan_in, fan_out, False, True)]
    return out + [("square", 1024, 1024, 1024, False, False)]


def make_data(config, dtype=np.float32, seed=0):
    """(X, y) for one epoch of `config`: X standard normal (N, m0) C-contiguous,
    y int64 class labels (cross-entropy) or float (N, 1) targets (mse)."""
    sizes, batch, loss, n_batches = CONFIGS[config]
    rng = np.random.default_rng(seed)
    n = batch * n_batches
    X = rng.standard_normal((n, sizes[0]), dtype=np.float64).astype(dtype)
    if loss == "mse":
        y = rng.standard_normal((n, sizes[-1])).astype(dtype)
    else:
        y = rng.integers(0, sizes[-1], n).astype(np.int64)
    return X, y


def limit_blas_threads(n=THREADS):
    """Cap NumPy's BLAS (OpenBLAS/MKL, also what scikit-learn runs on) at n threads
    with threadpoolctl when it is installed; returns the limiter (keep it alive)
    or None.  The OMP/OPENBLAS_NUM_THREADS variables only act before import."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
        return None
    return threadpool_limits(limits=n, user_api="blas")


# ------------------------------------------------------------------ mlpfast

def mlpfast_net(config, dtype=np.float32, seed=0):
    import mlpfast
    sizes, _, loss, _ = CONFIGS[config]
    return mlpfast.MLP(sizes, activation="relu", loss=loss,
                       dtype=np.dtype(dtype).name, seed=seed)


def mlpfast_epoch(net, X, y, batch):
    def epoch():
        net.fit(X, y, epochs=1, batch_size=batch, optimizer="sgd",
                learning_rate=LEARNING_RATE, shuffle=True)
    return epoch


def median_step_us(epoch, steps, seconds):
    """Median µs a step of epoch() over `seconds` of back-to-back epochs (at least
    one), after an untimed one."""
    epoch()
    times, end = [], time.perf_counter() + seconds
    while not times or time.perf_counter() < end:
        start = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / steps * 1e6


# ------------------------------------------------------------------ PyTorch

def torch_model(config, dtype=np.float32, seed=0):
    """nn.Sequential of Linear + ReLU, the loss module and an SGD optimiser."""
    import torch
    sizes, _, loss, _ = CONFIGS[config]
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    tdtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    model = torch.nn.Sequential(*layers).to(tdtype)
    loss_fn = torch.nn.MSELoss() if loss == "mse" else torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    return model, loss_fn, opt


def _torch_step(model, loss_fn, opt, xb, yb):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(xb), yb)
    loss.backward()
    opt.step()


def torch_fixed_epoch(model, loss_fn, opt, X, y, batch):
    """As many steps as an epoch has batches, every one on the same batch tensors."""
    import torch
    xb, yb = torch.from_numpy(X[:batch]), torch.from_numpy(y[:batch])
    steps = X.shape[0] // batch

    def epoch():
        for _ in range(steps):
            _torch_step(model, loss_fn, opt, xb, yb)
    return epoch


def torch_sliced_epoch(model, loss_fn, opt, X, y, batch):
    """One epoch as fit runs it: a fresh permutation, each batch gathered by index."""
    import torch
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n = X.shape[0]
    gen = torch.Generator().manual_seed(0)

    def epoch():
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            _torch_step(model, loss_fn, opt, Xt[idx], yt[idx])
    return epoch


def torch_params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


# ------------------------------------------------------------------ NumPy

class NumpyMLP:
    """A plain hand-written MLP in NumPy: relu hidden layers, identity output,
    softmax cross-entropy or mse (DESIGN §3), SGD.  Written the way one writes it
    by hand for speed: matmul with out=, in-place element-wise ops, buffers
    allocated once per batch size."""

    def __init__(self, sizes, loss, dtype=np.float32, seed=0):
        rng = np.random.default_rng(seed)
        self.sizes, self.loss, self.dtype = sizes, loss, np.dtype(dtype)
        self.W = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(dtype)
                  for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b, dtype) for b in sizes[1:]]
        self._n = None

    def _buffers(self, n):
        if self._n != n:
            self._n = n
            self.A = [np.empty((n, m), self.dtype) for m in self.sizes]
            self.D = [np.empty((n, m), self.dtype) for m in self.sizes[1:]]
            self.dW = [np.empty_like(w) for w in self.W]

    def forward(self, X):
        """Output of the last layer (logits), allocating (inference path)."""
        a = X
        for i, (w, b) in enumerate(zip(self.W, self.b)):
            a = a @ w
            a += b
            if i < len(self.W) - 1:
                np.maximum(a, 0, out=a)
        return a

    def step(self, X, y, lr):
        n = X.shape[0]
        self._buffers(n)
        A, D, L = self.A, self.D, len(self.W)
        A[0] = X
        for i in range(L):
            np.matmul(A[i], self.W[i], out=A[i + 1])
            A[i + 1] += self.b[i]
            if i < L - 1:
                np.maximum(A[i + 1], 0, out=A[i + 1])
        d = D[-1]
        if self.loss == "mse":
            np.subtract(A[-1], y, out=d)
        else:                                   # softmax - onehot
            np.subtract(A[-1], A[-1].max(axis=1, keepdims=True), out=d)
            np.exp(d, out=d)
            d /= d.sum(axis=1, keepdims=True)
            d[np.arange(n), y] -= 1
        d *= 1.0 / n
        for i in range(L - 1, -1, -1):
            np.matmul(A[i].T, D[i], out=self.dW[i])
            db = D[i].sum(axis=0)
            if i > 0:
                np.matmul(D[i], self.W[i].T, out=D[i - 1])
                D[i - 1] *= A[i] > 0
            self.W[i] -= lr * self.dW[i]
            self.b[i] -= lr * db


def numpy_model(config, dtype=np.float32, seed=0):
    sizes, _, loss, _ = CONFIGS[config]
    return NumpyMLP(sizes, loss, dtype, seed)


def numpy_epoch(model, X, y, batch):
    """One epoch: a permutation, each batch gathered with np.take into a buffer."""
    n = X.shape[0]
    rng = np.random.default_rng(0)
    xb = np.empty((batch, X.shape[1]), X.dtype)
    yb = np.empty((batch,) + y.shape[1:], y.dtype)

    def epoch():
        perm = rng.permutation(n)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            np.take(X, idx, axis=0, out=xb)
            np.take(y, idx, axis=0, out=yb)
            model.step(xb, yb, LEARNING_RATE)
    return epoch


# ------------------------------------------------------------------ scikit-learn

def sklearn_model(config, X, y, seed=0):
    """MLPClassifier/MLPRegressor with plain SGD (no momentum, no L2, constant
    rate), initialised by one partial_fit on the first batch."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    sizes, batch, loss, _ = CONFIGS[config]
    cls = MLPRegressor if loss == "mse" else MLPClassifier
    model = cls(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu",
                solver="sgd", batch_size=batch, learning_rate="constant",
                learning_rate_init=LEARNING_RATE, momentum=0.0,
                nesterovs_momentum=False, alpha=0.0, max_iter=1, shuffle=True,
                random_state=seed)
    yy = y.ravel() if loss == "mse" else y
    if loss == "mse":
        model.partial_fit(X[:batch], yy[:batch])
    else:
        model.partial_fit(X[:batch], yy[:batch], classes=np.arange(sizes[-1]))
    return model


def sklearn_epoch(model, X, y):
    """partial_fit over the whole set: one epoch of mini-batches of batch_size."""
    yy = y.ravel() if y.ndim == 2 else y

    def epoch():
        model.partial_fit(X, yy)
    return epoch


def sklearn_params(model):
    return [w.copy() for w in model.coefs_] + [b.copy() for b in model.intercepts_]
