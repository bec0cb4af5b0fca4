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


def test_every_qt_module_used_comes_from_a_declared_wheel() -> None:
    """The app depends on PySide6-Essentials alone (not the ``pyside6`` meta-package, which
    pulls in every add-on, WebEngine included). Each ``PySide6.QtX`` that chatlab, its
    tests, benchmarks or packaging scripts import must be one that wheel ships."""
    import importlib.metadata as metadata
    import re
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    qt_dists = [re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0] for d in deps if d.lower().startswith("pyside6")]
    assert qt_dists == ["PySide6-Essentials"]
    shipped = {
        str(f).split("/")[1].split(".")[0]
        for f in metadata.files("PySide6-Essentials") or []
        if re.fullmatch(r"PySide6/Qt\w+\.(abi3\.so|pyd|pyi)", str(f))
    }
    assert {"QtCore", "QtGui", "QtWidgets", "QtSvg"} <= shipped
    used: dict[str, list[str]] = {}
    for folder in ("chatlab", "tests", "bench", "packaging"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in imported_modules(path):
                parts = name.split(".")
                if parts[0] == "PySide6" and len(parts) > 1:
                    used.setdefault(parts[1], []).append(path.relative_to(ROOT).as_posix())
    assert used, "the scan found no Qt imports at all"
    missing = {module: files for module, files in used.items() if module not in shipped}
    assert missing == {}
