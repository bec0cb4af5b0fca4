"""ruff, mypy and the layer contract (import-linter: core <- providers/store/demo <-
ui/cli/app), as configured in pyproject.toml, stay clean (part of the one test command)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "ruff", "check", "."],
        ["-m", "ruff", "format", "--check", "."],
        ["-m", "mypy"],
        ["lint-imports"],
    ],
    ids=["ruff", "ruff-format", "mypy", "layers"],
)
def test_clean(args: list[str]) -> None:
    # lint-imports has no ``python -m`` entry: run the script installed beside this Python.
    command = [sys.executable, *args] if args[0] == "-m" else [str(Path(sys.executable).parent / args[0])]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
