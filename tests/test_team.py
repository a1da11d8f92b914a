"""The hand-off team (csrc/team.c) that inference takes its threads from: its
promises are about threads that arrive late, so a C harness (tests/team_harness.c)
holds a helper at the door and checks that the caller neither waits for it nor
is followed into a task that has returned, and that a GEMM on the team then
still computes every cell (csrc/gemm.c's work sharing), with one thread's bits."""
import os
import platform
import subprocess

import pytest

from test_clones import CSRC, ROOT, _compiler

HARNESS = os.path.join(ROOT, "tests", "team_harness.c")


@pytest.mark.skipif(platform.system() == "Windows" or not os.path.isdir(CSRC)
                    or _compiler() is None,
                    reason="the harness is built with a C compiler from the source tree")
def test_team_never_waits_for_a_helper_that_has_not_started(tmp_path):
    exe = tmp_path / "team_harness"
    subprocess.run([_compiler(), "-O2", "-I", CSRC, HARNESS, "-o", str(exe), "-pthread"],
                   check=True, capture_output=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout
