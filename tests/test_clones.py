"""clones.h builds the vector loops of vmath.h (activations, softmax) and
optim_blocks.h (optimisers) for AVX-512, AVX2 and the baseline and picks one at
load time, promising the same bits from each (-ffp-contract=off: no clone fuses
an FMA).  Only the clone of this CPU runs in the other tests, so this one
builds the loops once per clone's flags and compares a hash of every output."""
import os
import platform
import shutil
import subprocess
import sysconfig

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
HARNESS = os.path.join(ROOT, "tests", "clones_harness.c")
FLAGS = ["-O3", "-fno-math-errno", "-ffp-contract=off"]      # as setup.py builds them
CLONES = {"avx512f": ["-mavx512f"], "avx2": ["-mavx2"], "default": []}


def _compiler():
    cc = (sysconfig.get_config_var("CC") or "gcc").split()[0]
    return shutil.which(cc) or shutil.which("gcc")


def _cpu_has(flag):
    try:
        with open("/proc/cpuinfo") as f:
            return flag in f.read().split()
    except OSError:
        return False


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or platform.system() != "Linux"
                    or not os.path.isdir(CSRC) or _compiler() is None,
                    reason="clones are built for x86-64 Linux with gcc from the source tree")
def test_every_clone_computes_the_same_bits(tmp_path):
    runnable = [name for name in CLONES if name == "default" or _cpu_has(name)]
    if len(runnable) < 2:
        pytest.skip("this CPU runs only the baseline clone")
    hashes = {}
    for name in runnable:
        exe = tmp_path / f"harness_{name}"
        subprocess.run([_compiler(), *FLAGS, *CLONES[name], "-I", CSRC, HARNESS, "-o", str(exe),
                        "-lm"], check=True, capture_output=True)
        hashes[name] = subprocess.run([str(exe)], check=True, capture_output=True,
                                      text=True).stdout.strip()
    assert len(hashes[runnable[0]]) == 16
    assert len(set(hashes.values())) == 1, hashes
