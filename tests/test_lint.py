"""The code passes the project's linter (ruff, configured in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path


def test_ruff_check_passes():
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "fxlab", "tests"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
