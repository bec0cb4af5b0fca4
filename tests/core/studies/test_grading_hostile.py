"""``chatlab study grade`` under attack: a full disk mid-write, a key edited to another
kind and back, a suite whose prompt ids collide, an imported study with and without a
suite, and the study running in another live process. Every refusal is one line that
says nothing changed, and nothing is ever half-written: the grades and the keys kept
with the study change together or not at all."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chatlab.core.data.model import Grade
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path
from tests.core.studies.test_grading import grades, keyed_suite
from tests.core.studies.test_study import run, write_config

pytestmark = pytest.mark.hostile


def kept_keys() -> dict[str, object]:
    """The answer tables the study keeps in its suite snapshot, by prompt id."""
    store = Store(default_path())
    try:
        [info] = store.studies()
        return {p["id"]: p.get("answer") for p in info.suite["prompts"]}
    finally:
        store.close()


def keyed_study(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer, long: bool = False
) -> None:
    write_config(home, server)
    suite = keyed_suite(tmp_path / "s.toml", "number = 42")
    if long:  # answers of about 40 KB: rewriting them (and their search index) needs new pages
        suite.write_text(suite.read_text().replace("@tps=0", "@tps=0,repeat=40"))
    code, _, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 0, err


def test_a_full_disk_while_saving_grades_is_one_line_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    tmp_path: Path,
    server: DemoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyed_study(capsys, home, tmp_path, server, long=True)
    before, keys = grades(home), kept_keys()
    real_open = Store._open.__func__  # type: ignore[attr-defined]

    def full(cls: type[Store], path: Path) -> sqlite3.Connection:
        con: sqlite3.Connection = real_open(cls, path)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages}")  # not one page more: SQLITE_FULL
        return con

    edited = tmp_path / "e.toml"
    edited.write_text((tmp_path / "s.toml").read_text().replace("number = 42", 'contains_all = ["tin roof"]'))
    with monkeypatch.context() as patch:
        patch.setattr(Store, "_open", classmethod(full))
        code, out, err = run(capsys, "study", "grade", "Keyed", "--suite", str(edited))
    assert code in (1, 2) and "full" in err and "no answer was graded again" in err, err
    assert len(err.strip().splitlines()) == 1 and out == ""
    assert grades(home) == before and kept_keys() == keys


def test_a_key_edited_to_each_kind_in_turn_regrades_and_is_kept(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    keyed_study(capsys, home, tmp_path, server)
    for n, key in enumerate(
        [
            'choice = "B"',
            'regex = "(?i)tin\\\\s+roof"',
            'exact = "x", normalize = ["case"]',
            'contains_none = ["roof"]',
            "number = 42, tolerance = 1e300",
        ]
    ):
        edited = keyed_suite(tmp_path / f"k{n}.toml", key)
        code, out, err = run(capsys, "study", "grade", "Keyed", "--suite", str(edited))
        assert code == 0 and out.startswith("graded 4 answers of 1 keyed prompt"), (key, err)
        kept = kept_keys()["roof"]
        assert isinstance(kept, dict) and kept == json.loads(json.dumps(kept))
        # A plain `study grade` now grades by the key just kept: nothing changes.
        code, out, _ = run(capsys, "study", "grade", "Keyed")
        assert code == 0 and "no grade changed" in out, key
    # number = 42 with a tolerance of 1e300: every answer with any number is right.
    assert all(
        g.correct or g.detail.endswith("found no number") for g in grades(home)[("roof", "demo-fast@tps=0")]
    )


def test_a_suite_whose_prompt_ids_collide_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    keyed_study(capsys, home, tmp_path, server)
    before = grades(home)
    twice = tmp_path / "twice.toml"
    text = keyed_suite(tmp_path / "t.toml", 'contains_all = ["tin"]').read_text()
    twice.write_text(text.replace('id = "open"', 'id = "roof"'))
    code, _, err = run(capsys, "study", "grade", "Keyed", "--suite", str(twice))
    assert code == 2 and "repeats the id 'roof'" in err and len(err.strip().splitlines()) == 1
    assert grades(home) == before


def test_an_imported_study_is_graded_only_by_a_suite_and_keeps_no_keys(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    tmp_path: Path,
    server: DemoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyed_study(capsys, home, tmp_path, server)
    exported = tmp_path / "x.json"
    code, _, err = run(capsys, "export", "--study", "Keyed", "--unblind", "-o", str(exported))
    assert code == 0, err
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("CHATLAB_HOME", str(elsewhere))
    code, _, err = run(capsys, "import", str(exported))
    assert code == 0, err
    assert all(
        g == [Grade(False, "expected 42, found no number")] * 2 for g in grades(elsewhere).values() if g
    )
    code, _, err = run(capsys, "study", "grade", "Keyed")
    assert code == 2 and "was imported" in err and "--suite" in err
    edited = keyed_suite(tmp_path / "e.toml", 'contains_all = ["tin roof"]')
    code, out, err = run(capsys, "study", "grade", "Keyed", "--suite", str(edited))
    assert code == 0 and "4 right (100%)" in out, err
    assert all(g.correct for g in grades(elsewhere)[("roof", "demo-fast@tps=0")])
    code, _, err = run(capsys, "study", "grade", "Keyed")  # still no keys of its own
    assert code == 2 and "was imported" in err


def test_grading_a_study_another_live_chatlab_runs_is_refused_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    keyed_study(capsys, home, tmp_path, server)
    before, keys = grades(home), kept_keys()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        con = sqlite3.connect(default_path())
        with con:
            con.execute(
                "UPDATE studies SET status = 'running', extra = json_set(extra, '$.pid', ?)", (other.pid,)
            )
        con.close()
        edited = keyed_suite(tmp_path / "e.toml", 'contains_all = ["tin roof"]')
        code, _, err = run(capsys, "study", "grade", "Keyed", "--suite", str(edited))
        assert code == 2 and f"running in another chatlab (process {other.pid})" in err, err
        assert grades(home) == before and kept_keys() == keys
    finally:
        other.kill()
        other.wait(10)
