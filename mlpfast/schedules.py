"""Learning-rate schedules: the rate used for each epoch, from the optimiser's base rate.

``lr_schedule`` in ``fit`` takes a name ('constant', 'step', 'exponential',
'inverse_scaling', 'reduce_on_plateau') or one of these objects.
"""
from ._kernel_checks import _scalar
from ._validation import positive_int


class Schedule:
    def __call__(self, epoch, base_lr, history):
        """Learning rate for `epoch` (0-based), given the epochs done so far."""
        raise NotImplementedError


class Constant(Schedule):
    def __call__(self, epoch, base_lr, history):
        return base_lr


class StepDecay(Schedule):
    """lr = base · factor^(epoch // step_size)."""

    def __init__(self, step_size=10, factor=0.5):
        self.step_size = positive_int(step_size, "step_size")
        self.factor = _scalar("factor", factor, 0.0, 1.0, low_open=True)

    def __call__(self, epoch, base_lr, history):
        return base_lr * self.factor ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """lr = base · rate^epoch."""

    def __init__(self, rate=0.95):
        self.rate = _scalar("rate", rate, 0.0, 1.0, low_open=True)

    def __call__(self, epoch, base_lr, history):
        return base_lr * self.rate ** epoch


class InverseScaling(Schedule):
    """lr = base / (epoch + 1)^power."""

    def __init__(self, power=0.5):
        self.power = _scalar("power", power, low=0.0)

    def __call__(self, epoch, base_lr, history):
        return base_lr / (epoch + 1) ** self.power


class ReduceOnPlateau(Schedule):
    """Multiply the rate by `factor` after `patience` epochs without the watched
    loss (validation loss if any, else training loss) improving by more than `tol`."""

    def __init__(self, factor=0.1, patience=5, tol=1e-4, min_lr=0.0):
        self.factor = _scalar("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = positive_int(patience, "patience")
        self.tol = _scalar("tol", tol, low=0.0)
        self.min_lr = _scalar("min_lr", min_lr, low=0.0)
        self._lr = self._best = None
        self._waited = 0

    def __call__(self, epoch, base_lr, history):
        if self._lr is None or epoch == 0:
            self._lr, self._best, self._waited = base_lr, float("inf"), 0
        watched = history.val_loss or history.loss
        if watched:
            if watched[-1] < self._best - self.tol:
                self._best, self._waited = watched[-1], 0
            else:
                self._waited += 1
                if self._waited >= self.patience:
                    self._lr, self._waited = max(self._lr * self.factor, self.min_lr), 0
        return self._lr


SCHEDULES = {"constant": Constant, "step": StepDecay, "exponential": ExponentialDecay,
             "inverse_scaling": InverseScaling, "reduce_on_plateau": ReduceOnPlateau}


def get(schedule):
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str) and schedule in SCHEDULES:
        return SCHEDULES[schedule]()
    raise ValueError(f"lr_schedule must be None, one of {sorted(SCHEDULES)} or an "
                     f"mlpfast.schedules.Schedule, got {schedule!r}")
