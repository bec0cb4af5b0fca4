"""Only chatlab/ui and the app's entry point may import PySide6 or qasync."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from tests.conftest import PYTHON, ROOT, subprocess_env

QT = ("PySide6", "qasync")
ALLOWED = ("chatlab/ui/", "chatlab/app.py")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_qt_imports_outside_ui() -> None:
    offenders = []
    for path in sorted((ROOT / "chatlab").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED):
            continue
        bad = [m for m in imported_modules(path) if m.split(".")[0] in QT]
        if bad:
            offenders.append(f"{rel}: {bad}")
    assert offenders == []


def test_core_import_loads_no_qt(tmp_path: Path) -> None:
    code = (
        "import sys, pkgutil, importlib, chatlab\n"
        "for pkg in ('chatlab.core', 'chatlab.providers', 'chatlab.demo', 'chatlab.store'):\n"
        "    try:\n        mod = importlib.import_module(pkg)\n"
        "    except ModuleNotFoundError:\n        continue\n"
        "    for info in pkgutil.walk_packages(mod.__path__, pkg + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "import chatlab.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync')))\n"
    )
    out = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, env=subprocess_env(tmp_path), timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
