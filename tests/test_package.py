"""The package around the kernels: backend choice and fallback, build_info,
threads, fork safety."""
import multiprocessing
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mlpfast
from conftest import THREADS_BITWISE
from mlpfast import _backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, **env):
    """Run code in a fresh interpreter (the package as imported here); return the result."""
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=environ, timeout=120, cwd=ROOT)


def test_build_info_reports_native_openmp_and_simd(nat):
    info = mlpfast.build_info()
    assert info["native"] is True and info["backend"] == "native"
    assert info["openmp"] == ("-fopenmp" in info["flags"])     # a serial build says so
    if os.environ.get("CI"):
        assert info["openmp"] is True, "CI builds must have OpenMP"
    assert info["simd"] in ("avx512", "avx2", "generic")
    assert info["simd"] in info["simd_supported"]
    assert info["num_threads"] == mlpfast.get_num_threads() >= 1
    assert info["compiler"] and "-O" in info["flags"]
    assert "-march=native" not in info["flags"] and "fast-math" not in info["flags"]


def test_import_falls_back_with_one_warning_when_native_is_broken():
    result = run_python("""
        import sys, warnings
        sys.modules["mlpfast._linalg"] = None      # as if the build were missing
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import mlpfast
        info = mlpfast.build_info()
        print(len(caught), info["backend"], info["native"])
        print(caught[0].message)
    """)
    assert result.returncode == 0, result.stderr
    first, message = result.stdout.splitlines()[:2]
    assert first == "1 python False"
    assert "reference backend" in message and "mlpfast._linalg" in message


def test_native_backend_demanded_but_missing_raises_importerror_saying_why():
    result = run_python("""
        import sys, warnings
        warnings.simplefilter("ignore")
        sys.modules["mlpfast._losses"] = None
        from mlpfast import _backend
        try:
            _backend.get("native")
        except ImportError as exc:
            print("ImportError:", exc)
    """)
    assert "ImportError: mlpfast: the native backend is not available" in result.stdout
    assert "mlpfast._losses" in result.stdout


def test_env_forces_python_backend_without_warning():
    result = run_python("""
        import warnings
        warnings.simplefilter("error")
        import mlpfast
        print(mlpfast.build_info()["backend"])
    """, MLPFAST_BACKEND="python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python"


# plain "python": test_env_forces_python_backend_without_warning
@pytest.mark.parametrize("value,expected", [(" Python ", "python"), ("NATIVE", "native"),
                                            ("auto", "native"), ("", "native")])
def test_backend_from_env(nat, value, expected):
    result = run_python("import mlpfast; print(mlpfast.MLP([2, 2]).kernels.__name__)",
                        MLPFAST_BACKEND=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"mlpfast.{'reference' if expected == 'python' else expected}"


def test_backend_env_with_an_unknown_name_raises():
    result = run_python("import mlpfast; mlpfast.MLP([2, 2])", MLPFAST_BACKEND="fortran")
    assert "MLPFAST_BACKEND must be 'native' or 'python', got 'fortran'" in result.stderr


def test_python_backend_by_env_does_not_warn_about_a_broken_build():
    result = run_python("""
        import sys, warnings
        sys.modules["mlpfast._linalg"] = None
        warnings.simplefilter("error")
        import mlpfast
        print(mlpfast.build_info()["backend"])
    """, MLPFAST_BACKEND="python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python"


def test_backend_names():
    assert _backend.get("python") is mlpfast.reference
    with pytest.raises(ValueError, match="backend must be 'native', 'python' or None"):
        _backend.get("fortran")


def test_both_backends_export_every_kernel_with_one_signature(nat, ref):
    import inspect
    from mlpfast._kernel_checks import KERNELS
    for name in KERNELS:
        assert inspect.signature(getattr(nat, name)) == inspect.signature(getattr(ref, name))
    assert sorted(nat.__all__) == sorted(ref.__all__) == sorted(KERNELS)   # what * imports


def test_threads_setting_and_default_from_env(threads):
    threads(3)
    assert mlpfast.get_num_threads() == 3
    threads(np.int64(2))                        # any integer type
    assert mlpfast.get_num_threads() == 2 and type(mlpfast.get_num_threads()) is int
    for bad in (0, -1, 257, 10 ** 6):
        with pytest.raises(ValueError, match="from 1 to 256"):
            mlpfast.set_num_threads(bad)
    with pytest.raises(TypeError, match="positive int"):
        mlpfast.set_num_threads("2")
    with pytest.raises(TypeError, match="positive int"):
        mlpfast.set_num_threads(True)
    result = run_python("import mlpfast; print(mlpfast.get_num_threads())", OMP_NUM_THREADS="5")
    assert result.stdout.strip() == "5"
    result = run_python("import mlpfast; print(mlpfast.get_num_threads())",
                        OMP_NUM_THREADS="1000")
    assert result.stdout.strip() == "256"       # MAX_THREADS
    # a list (one count per nesting level): the outer level's
    result = run_python("import mlpfast; print(mlpfast.get_num_threads())",
                        OMP_NUM_THREADS="4,2")
    assert result.stdout.strip() == "4"


def test_more_threads_than_a_product_has_cells_give_the_same_bits(nat):
    """The GEMM shares a product out in at most 64 cells, one thread each: more threads
    than that (the kernels take up to MAX_THREADS) once overran its table of cells.  In a
    child process, since that was a crash."""
    result = run_python("""
        import numpy as np, mlpfast, mlpfast.native as K
        rng = np.random.default_rng(0)
        A, B = rng.random((512, 512), np.float32), rng.random((512, 512), np.float32)
        C1, C2 = np.empty_like(A), np.empty_like(A)
        K.gemm(C1, A, B, n_threads=1)
        K.gemm(C2, A, B, n_threads=200)
        mlpfast.set_num_threads(256)
        net = mlpfast.MLP([512, 512, 10], seed=0)
        p256 = net.predict_proba(A)
        mlpfast.set_num_threads(1)
        print(np.array_equal(C1, C2), np.array_equal(p256, net.predict_proba(A)))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def _child_runs_kernels(queue):
    import mlpfast.native as native
    C = np.empty((300, 300), np.float32)
    A = np.ones((300, 300), np.float32)
    native.gemm(C, A, A, n_threads=2)      # capped to 1 thread in a forked child
    Z, P = np.zeros((300, 10), np.float32), np.empty((300, 10), np.float32)
    native.activation_forward(P, Z, "tanh", n_threads=2)
    threads = mlpfast.get_num_threads()
    mlpfast.set_num_threads(2)                  # the child's cap holds
    queue.put(float(C[0, 0]) + threads + mlpfast.get_num_threads())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_forked_child_finishes_after_parent_ran_threaded_kernels(nat):
    A = np.ones((300, 300), np.float32)
    C = np.empty_like(A)
    nat.gemm(C, A, A, n_threads=2)       # the parent's OpenMP pool now exists
    Z, P = np.zeros((300, 10), np.float32), np.empty((300, 10), np.float32)
    nat.activation_forward(P, Z, "tanh", n_threads=2)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_runs_kernels, args=(queue,))
    child.start()
    child.join(60)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung, "the forked child hung in an OpenMP region"
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 300.0 + 1 + 1


def _labels_in(values):
    """Class 0 four times, in the memory of `values` (4 float64 zeros are int64 zeros)."""
    values[:] = 0.0
    return values.view(np.int64)


@pytest.mark.parametrize("call,match", [
    (lambda k, buf: k.gemm(buf[:4], buf[2:6], np.ones((8, 8))), "C overlaps A"),
    # labels inside dZ or P: the kernel overwrote them while reading them (a crash)
    (lambda k, buf: k.softmax_cross_entropy(buf[:4], np.empty((4, 8)), np.ones((4, 8)),
                                            _labels_in(buf[0, :4])), "dZ overlaps labels"),
    (lambda k, buf: k.softmax_cross_entropy(np.empty((4, 8)), buf[:4], np.ones((4, 8)),
                                            _labels_in(buf[3, 4:])), "P overlaps labels"),
    (lambda k, buf: k.activation_backward(buf[1:5], buf[:4], np.ones((4, 8)),
                                          np.ones((4, 8)), "relu"), "dZ overlaps dA"),
    (lambda k, buf: k.activation_forward(buf[1:5], buf[:4], "tanh"), "A overlaps Z"),
    (lambda k, buf: k.sgd_update(buf[0], buf[0], 0.1), "theta overlaps g"),
    (lambda k, buf: k.momentum_update(buf[0], buf[0], np.ones(8), 0.1), "theta overlaps v"),
])
def test_overlapping_outputs_are_rejected(nat, ref, call, match):
    for kernels in (nat, ref):
        buf = np.ones((6, 8))
        with pytest.raises(ValueError, match=match):
            call(kernels, buf)


def test_exact_in_place_is_allowed_where_documented(nat):
    Z = np.linspace(-2, 2, 12).reshape(3, 4)
    expected = np.tanh(Z)
    nat.activation_forward(Z, Z, "tanh")
    np.testing.assert_allclose(Z, expected, rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (257, 31), (301, 499)])
@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_native_finiteness_check_agrees_with_numpy(nat, dtype, shape, bad, where, threads):
    from mlpfast import _validation
    X = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    X[0, 0] = np.finfo(dtype).max            # large but finite stays finite
    if bad is not None:
        flat = X.reshape(-1)
        flat[{"first": 0, "middle": flat.size // 2, "last": flat.size - 1}[where]] = bad
    expected = bool(np.isfinite(X).all())
    for n_threads in THREADS_BITWISE:        # (301, 499): 3 chunks shared out
        threads(n_threads)
        assert _validation.all_finite(X) == expected
        assert _validation.all_finite(np.asfortranarray(X)) == expected
        assert _validation.all_finite(X.view(_Subclass)) == expected    # e.g. np.memmap


class _Subclass(np.ndarray):
    pass


@pytest.mark.parametrize("n", [1, 2, 7, 31, 4099])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_native_label_range_agrees_with_numpy(nat, n, where):
    from mlpfast._engine import label_range
    i = {"first": 0, "middle": n // 2, "last": n - 1}[where]
    for lo, hi in [(0, 9), (-5, 3), (np.iinfo(np.int64).min, np.iinfo(np.int64).max)]:
        y = np.random.default_rng(n).integers(0, 4, n)
        y[i] = hi                            # the extremes at each position in turn
        y[(i + 1 + n // 3) % n] = lo if n > 1 else y[i]    # another position (n > 1)
        assert label_range(y) == (y.min(), y.max())


def test_native_label_range_rejects_what_it_cannot_read(nat):
    from mlpfast._engine import label_range
    for bad in (np.zeros(4, np.int32), np.zeros((2, 2), np.int64), np.zeros(8, np.int64)[::2],
                np.zeros(0, np.int64), [1, 2]):
        with pytest.raises(TypeError, match="non-empty C-contiguous 1-D int64"):
            label_range(bad)


def test_native_finiteness_check_rejects_what_it_cannot_read(nat):
    from mlpfast._engine import finite
    for bad in (np.zeros((3, 4), np.int64), np.zeros((4, 6), np.float32)[:, ::2], [[1.0]]):
        with pytest.raises(TypeError, match="C-contiguous float32 or float64"):
            finite(bad)


def test_the_sdist_manifest_ships_every_native_source():
    """MANIFEST.in, read by setuptools' own template rules: an sdist carries every
    source in csrc/ (pip and `python -m build` build the wheel from the sdist alone;
    without the manifest it had no .pyx or .pxd and could not build) and none of the
    C that Cython generates there."""
    from setuptools.command.egg_info import FileList
    csrc = os.path.join(ROOT, "csrc")
    sources = {f"csrc/{name}" for name in os.listdir(csrc)
               if name.endswith((".pyx", ".pxd", ".h"))
               or (name.endswith(".c") and not name.startswith("_"))}
    assert {"csrc/_engine.pyx", "csrc/step.pxd", "csrc/gemm.c", "csrc/gemm.h"} <= sources
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        manifest = FileList()
        manifest.findall(".")
        with open("MANIFEST.in") as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    manifest.process_template_line(line)
    finally:
        os.chdir(here)
    assert {f for f in manifest.files if f.startswith("csrc/")} == sources
