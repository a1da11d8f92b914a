"""Handwritten digits (8x8 images, 10 classes) with a validation set and early stopping.

The training part is split again: 15% of it is held out to watch the
validation loss; training stops once it has not improved for 5 epochs, and the
weights of the best epoch are restored.  The test part is only used at the end.

Run: python examples/digits.py   (with mlpfast installed, or PYTHONPATH=. from the repo)
"""
import mlpfast
from mlpfast.datasets import load_digits, train_test_split

X, y = load_digits()
X = X / 16                                   # pixel counts 0..16 -> [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_fraction=0.15, seed=1)

net = mlpfast.MLP([64, 256, 128, 10], activation="relu", loss="cross_entropy", seed=0)
history = net.fit(X_fit, y_fit, epochs=200, batch_size=64, learning_rate=2e-3,
                  validation_data=(X_val, y_val), early_stopping=True, patience=5)

print(f"{len(X_fit)} training, {len(X_val)} validation, {len(X_test)} test images")
print("epoch  train loss  val loss  val accuracy")
for epoch, (loss, val_loss, val_acc) in enumerate(
        zip(history.loss, history.val_loss, history.val_score), start=1):
    mark = "  <- best, restored" if epoch - 1 == history.best_epoch else ""
    print(f"{epoch:5d}  {loss:10.4f}  {val_loss:8.4f}  {val_acc:12.4f}{mark}")
print(history)
print(f"stopped early: {history.stopped_early} after {history.epochs} epochs "
      f"({sum(history.seconds):.2f} s)")
print(f"test accuracy: {net.score(X_test, y_test):.4f}")
