"""mlpfast: multilayer perceptrons on the CPU, fast.

Native kernels (Cython and C with OpenMP) with a plain NumPy twin for each;
see ``mlpfast.native`` and ``mlpfast.reference``.
"""
import numpy as _np

from . import _backend, csvdata, datasets, optimizers, schedules
from ._threads import get_num_threads, set_num_threads
from .gradcheck import gradcheck
from .io import ModelFormatError, load
from .network import MLP
from .perceptron import Perceptron
from .training import History, TrainingDiverged

__version__ = "0.1.0"

_backend.warn_if_fallback()


def build_info():
    """How this installation was built and what it chose at run time.

    Keys: version, backend (the default one), native (bool), native_error,
    openmp, num_threads, simd (the GEMM path in effect), simd_supported,
    compiler, flags, numpy.
    """
    info = {
        "version": __version__,
        "backend": _backend.name_of(_backend.get()),
        "native": _backend.native is not None,
        "native_error": _backend.NATIVE_ERROR,
        "openmp": False, "simd": None, "simd_supported": [],
        "compiler": None, "flags": None,
        "num_threads": get_num_threads(),
        "numpy": _np.__version__,
    }
    if _backend.native is not None:
        info.update(_backend.native.build_info())
    return info


__all__ = ["MLP", "History", "ModelFormatError", "Perceptron", "csvdata", "datasets", "TrainingDiverged", "build_info",
           "get_num_threads", "gradcheck", "load", "optimizers", "schedules",
           "set_num_threads", "__version__"]
