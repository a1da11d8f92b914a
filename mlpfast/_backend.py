"""Choosing a backend: the compiled kernels when they import, else the NumPy reference.

``MLPFAST_BACKEND=python`` forces the reference backend, ``=native`` demands the
compiled one.  ``backend=None`` picks native when it is built; when it is not,
``import mlpfast`` says so once, with the reason, and the reference serves.
"""
import os
import warnings

from . import reference

try:
    from . import native
    NATIVE_ERROR = None
except ImportError as exc:  # missing or broken build: diagnosable, not fatal
    native = None
    NATIVE_ERROR = f"{type(exc).__name__}: {exc}"

NAMES = ("native", "python")


def _env_choice():
    value = os.environ.get("MLPFAST_BACKEND", "").strip().lower()
    if value in ("", "auto"):
        return None
    if value not in NAMES:
        raise ValueError(f"MLPFAST_BACKEND must be 'native' or 'python', got {value!r}")
    return value


def get(backend=None):
    """The kernel namespace for backend 'native', 'python' or None (default)."""
    if backend is None:
        backend = _env_choice()
    if backend is None:
        return native if native is not None else reference
    if backend == "python":
        return reference
    if backend == "native":
        if native is None:
            raise ImportError("mlpfast: the native backend is not available "
                              f"({NATIVE_ERROR}); rebuild with `pip install -e .` "
                              "or use backend='python'")
        return native
    raise ValueError(f"backend must be 'native', 'python' or None, got {backend!r}")


def name_of(kernels):
    return "native" if kernels is native else "python"


def warn_if_fallback():
    if native is None and _env_choice() != "python":
        warnings.warn("mlpfast: compiled kernels unavailable, using the slow NumPy "
                      f"reference backend ({NATIVE_ERROR})", RuntimeWarning, stacklevel=3)
