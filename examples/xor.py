"""XOR, the function a single perceptron cannot compute, two ways (DESIGN §8).

1. By hand: a 2-2-1 network with relu hidden units and hand-set weights
   computes XOR exactly: h1 = relu(x1 + x2), h2 = relu(x1 + x2 - 1),
   out = h1 - 2 h2.
2. By backpropagation: a 2-4-1 sigmoid network (sigmoid output, squared
   loss, plain gradient descent on all four samples) learns it.

Run: python examples/xor.py   (with mlpfast installed, or PYTHONPATH=. from the repo)
"""
import numpy as np

import mlpfast

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
y = np.array([0, 1, 1, 0], dtype=np.float64)

# 1. Hand-set weights; W is stored (inputs, outputs), so column j feeds unit j.
net = mlpfast.MLP([2, 2, 1], activation="relu", loss="mse", dtype="float64")
net.layers[0].W = [[1, 1], [1, 1]]
net.layers[0].b = [0, -1]
net.layers[1].W = [[1], [-2]]
net.layers[1].b = [0]
by_hand = net.predict(X).ravel()
print("by hand:   ", by_hand, "exact" if np.array_equal(by_hand, y) else "WRONG")

# 2. Trained: four samples are far too little work to share between threads.
mlpfast.set_num_threads(1)
net = mlpfast.MLP([2, 4, 1], activation="sigmoid", output_activation="sigmoid", loss="mse",
                  dtype="float64", seed=0)
history = net.fit(X, y, epochs=1000, batch_size=4, optimizer="sgd", learning_rate=5.0,
                  shuffle=False)
trained = net.predict(X).ravel()
error = np.abs(trained - y).max()
print("trained:   ", np.round(trained, 3), f"after {history.epochs} epochs, "
      f"final loss {history.loss[-1]:.5f}")
print(f"max error: {error:.4f} ({'within' if error < 0.1 else 'NOT within'} 0.1)")
