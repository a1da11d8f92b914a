"""Placeholder: replaced by the real optim kernels."""


def sgd_update(*args):
    raise NotImplementedError("sgd_update")


def momentum_update(*args):
    raise NotImplementedError("momentum_update")


def nesterov_update(*args):
    raise NotImplementedError("nesterov_update")


def adagrad_update(*args):
    raise NotImplementedError("adagrad_update")


def rmsprop_update(*args):
    raise NotImplementedError("rmsprop_update")


def adam_update(*args):
    raise NotImplementedError("adam_update")
