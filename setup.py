"""Build the native kernels in csrc/ into the mlpfast package.

Design
------
* Every compiled module shares one set of Cython directives and one set of C
  flags, chosen here and nowhere else (``DIRECTIVES``, ``base_cflags``).
* OpenMP is probed by compiling a tiny OpenMP program.  ``MLPFAST_OPENMP=1``
  makes a failed probe an error (wheel builds refuse a serial build),
  ``MLPFAST_OPENMP=0`` builds serially; unset, a failed probe falls back to a
  serial build with one warning.  The sources compile either way: Cython's
  ``prange`` degrades to a plain loop without OpenMP.
* ``MLPFAST_DEBUG=1`` turns Cython's bounds and wraparound checks on and
  compiles with ``-O0 -g``.
* No ``-march=native`` and no ``-ffast-math``: the GEMM micro-kernels carry
  ``target`` attributes and are picked at run time from the CPU's features.
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("MLPFAST_DEBUG", "0") == "1"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}


def _compiler():
    return os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"


def _openmp_flags():
    """Return the OpenMP compile/link flags, or [] for a serial build."""
    wanted = os.environ.get("MLPFAST_OPENMP", "").strip()
    if wanted == "0":
        print("mlpfast: MLPFAST_OPENMP=0, building without OpenMP")
        return []
    flag = "-fopenmp"
    src = "#include <omp.h>\nint main(void){int n=0;\n#pragma omp parallel reduction(+:n)\nn+=1;\nreturn n>0?0:1;}\n"
    tmp = tempfile.mkdtemp()
    try:
        c_file = os.path.join(tmp, "probe.c")
        with open(c_file, "w") as f:
            f.write(src)
        cmd = _compiler().split() + [flag, c_file, "-o", os.path.join(tmp, "probe")]
        ok = subprocess.run(cmd, capture_output=True).returncode == 0
    except OSError:
        ok = False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if ok:
        return [flag]
    if wanted == "1":
        sys.exit("mlpfast: MLPFAST_OPENMP=1 but the compiler cannot build an OpenMP program")
    warnings.warn("mlpfast: the compiler cannot build OpenMP programs; "
                  "building the kernels single-threaded")
    return []


OPENMP = _openmp_flags()
base_cflags = ["-O0", "-g"] if DEBUG else ["-O3"]
# -fno-math-errno lets gcc vectorise sqrt (the optimisers); it changes no result.
# -ffp-contract=off: no a*b+c fused into an FMA behind our back, so the vector
# clones (clones.h) compute the baseline's bits (the GEMM's FMAs are explicit).
base_cflags += ["-fno-math-errno", "-ffp-contract=off", "-Wno-unused-function",
                "-Wno-unreachable-code"]
cflags = base_cflags + OPENMP
macros = [
    ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
    ("MLPF_BUILD_FLAGS", '"%s"' % " ".join(cflags)),
]


def extension(name, sources):
    return Extension(
        "mlpfast." + name,
        sources=["csrc/%s.pyx" % name] + ["csrc/%s" % s for s in sources],
        include_dirs=["csrc", numpy.get_include()],
        depends=sorted(glob.glob("csrc/*.h")),
        define_macros=macros,
        extra_compile_args=cflags,
        extra_link_args=OPENMP + ["-lm", "-pthread"],
    )


extensions = [
    extension("_linalg", ["gemm.c", "team.c"]),
    extension("_activations", []),
    extension("_losses", []),
    extension("_optim", []),
    extension("_engine", ["gemm.c", "team.c"]),
    extension("_inference", ["gemm.c", "team.c"]),
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=["csrc"],
        compiler_directives=DIRECTIVES,
        quiet=True,
    ),
)
