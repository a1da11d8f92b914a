"""The native backend: the compiled kernels of csrc/, checked, under the same
names and signatures as ``mlpfast.reference``.  Importing this module raises
ImportError when the extension modules are missing or broken."""
import importlib

from ._kernel_checks import KERNELS, bind_all

# import_module, not `from . import`, so a missing build says "No module named ..."
_linalg, _activations, _losses, _optim, _engine, _inference = (
    importlib.import_module(f"mlpfast.{name}")
    for name in ("_linalg", "_activations", "_losses", "_optim", "_engine", "_inference"))

globals().update(bind_all((_linalg, _activations, _losses, _optim)))
__all__ = list(KERNELS)


def build_info():
    """What the compiled modules were built with and chose at run time."""
    return _linalg.build_info()


def set_simd_path(name):
    """Force the GEMM micro-kernel path ('avx512', 'avx2', 'generic'; None: the best).
    For tests and benchmarks; raises ValueError if this CPU cannot run it."""
    for module in (_linalg, _engine, _inference):   # each links its own copy of the GEMM
        module.set_simd_path(name)
