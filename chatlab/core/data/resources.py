"""Where chatlab's shipped files are: ``resources/`` in a checkout, ``chatlab/_resources/``
in a wheel or a bundle (prices, schemas, suites, icons, desktop files)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[2]  # chatlab/core/data/resources.py -> chatlab/


def resources_dir() -> Path:
    """The shipped ``resources/`` folder, in a wheel or in a source checkout."""
    installed = _PACKAGE / "_resources"
    return installed if installed.is_dir() else _PACKAGE.parent / "resources"
