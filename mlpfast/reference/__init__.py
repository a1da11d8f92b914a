"""The reference backend: every kernel again in plain NumPy, the oracle of the tests.

Each submodule holds raw kernels (normalised arguments); this package exports
them checked, under the same names and signatures as ``mlpfast.native``.
"""
from .._kernel_checks import KERNELS, bind_all
from . import activations, linalg, losses, masks, optim

globals().update(bind_all((linalg, activations, masks, losses, optim)))
__all__ = list(KERNELS)
