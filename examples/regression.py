"""Regression: learn y = sin(x1) + x2² + noise from 2,000 samples with a squared loss.

The noise has standard deviation 0.1, so the best possible R² on fresh data
is about 1 − 0.01 / var(y) ≈ 0.995; a small tanh network gets close.

Run: python examples/regression.py   (with mlpfast installed, or PYTHONPATH=. from the repo)
"""
import numpy as np

import mlpfast

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(2000, 2))
y = np.sin(X[:, 0]) + X[:, 1] ** 2 + rng.normal(scale=0.1, size=2000)
X_train, X_test, y_train, y_test = X[:1500], X[1500:], y[:1500], y[1500:]

net = mlpfast.MLP([2, 32, 32, 1], activation="tanh", loss="mse", seed=0)
history = net.fit(X_train, y_train, epochs=100, batch_size=64, learning_rate=5e-3)

pred = net.predict(X_test).ravel()
r2 = 1 - np.sum((y_test - pred) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
print(f"trained {history.epochs} epochs, final training loss {history.loss[-1]:.5f}")
print(f"test R2: {r2:.4f} (net.score gives {net.score(X_test, y_test):.4f})")
for x, t, p in zip(X_test[:3], y_test[:3], pred[:3]):
    print(f"  x = ({x[0]:+.2f}, {x[1]:+.2f})  y = {t:+.3f}  predicted {p:+.3f}")
