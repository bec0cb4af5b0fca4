"""docs/architecture.md stays true: every file and folder it names exists, and every
package folder of chatlab is named there (a new room gets its line on the page)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"


def named_paths() -> set[str]:
    text = PAGE.read_text("utf-8")
    found = set(re.findall(r"`((?:chatlab|tests|resources)/[^`\s<>]*)`", text))
    found |= set(re.findall(r'"((?:chatlab|tests)/[^"\s<>]*)"', text))
    return found


def test_every_path_the_page_names_exists() -> None:
    paths = named_paths()
    assert len(paths) > 40
    missing = sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"docs/architecture.md names paths that don't exist: {missing}"


def test_every_package_folder_is_on_the_page() -> None:
    text = PAGE.read_text("utf-8")
    folders = sorted(str(init.parent.relative_to(ROOT)) for init in (ROOT / "chatlab").rglob("__init__.py"))
    unnamed = [f for f in folders if f != "chatlab" and f"{f}/" not in text and f"`{f}`" not in text]
    assert not unnamed, f"docs/architecture.md doesn't name these folders: {unnamed}"
