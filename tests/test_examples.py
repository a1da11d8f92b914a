"""The example scripts run in seconds and print their results; parse and check them."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_example(name):
    """Run examples/<name> as a user would, with this checkout importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_WAIT_POLICY": "passive"}    # see tests/test_cli.py: subprocess_env
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text}"
    return float(match.group(1))


def test_xor():
    out = run_example("xor.py")
    assert re.search(r"by hand: +\[0\. 1\. 1\. 0\.\] exact", out), out
    trained = re.search(r"trained: +\[([^\]]+)\]", out).group(1).split()
    targets = [0, 1, 1, 0]
    assert all(abs(float(v) - t) < 0.1 for v, t in zip(trained, targets)) and len(trained) == 4
    assert number(r"max error: ([0-9.]+)", out) < 0.1


def test_digits():
    out = run_example("digits.py")
    assert number(r"test accuracy: ([0-9.]+)", out) >= 0.95
    assert "History(epochs=" in out
    epochs = re.findall(r"^\s+(\d+)\s+[0-9.]+\s+[0-9.]+\s+([0-9.]+)", out, re.M)
    assert len(epochs) == number(r"after (\d+) epochs", out) >= 3
    assert "<- best, restored" in out
    assert max(float(acc) for _, acc in epochs) >= 0.9


def test_regression():
    out = run_example("regression.py")
    r2 = number(r"test R2: ([0-9.]+)", out)
    assert r2 > 0.95
    assert number(r"net.score gives ([0-9.]+)", out) == pytest.approx(r2, abs=1e-3)
