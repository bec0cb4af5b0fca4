"""A study grades each answer of a keyed prompt the moment it ends, keeps the grade
with the answer (store and export), and grades again after a key was edited
(``chatlab study grade NAME [--suite FILE]``), over loopback with the real SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatlab.core.data.export import parse_document
from chatlab.core.data.model import Grade, Response, Status
from chatlab.core.studies.answers import grade_response, parse_key
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path
from tests.core.studies.test_study import run, write_config

FAST = [("demo", "demo-fast@tps=0"), ("demo", "demo-reasoner@tps=0")]


def keyed_suite(path: Path, key: str, *, text: str = "Name the roof.") -> Path:
    lines = [
        'name = "Keyed"',
        "samples = 2",
        "[[prompts]]",
        'id = "roof"',
        f'text = "{text}"',
        'tags = ["math"]',
        f"answer = {{ {key} }}",
        "[[prompts]]",
        'id = "open"',
        'text = "Write a poem."',
        'tags = ["writing"]',
    ]
    for provider, model in FAST:
        lines += ["[[lanes]]", f'provider = "{provider}"', f'model = "{model}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def grades(home: Path) -> dict[tuple[str, str], list[Grade]]:
    """(prompt id, lane model) -> the grades of its answers, as read back from disk."""
    store = Store(default_path())
    try:
        [info] = store.studies()
        out: dict[tuple[str, str], list[Grade]] = {}
        for session in store.study_sessions(info.id):
            assert session.study is not None
            for lane in session.lanes:
                resp = session.turns[0].responses[lane.id]
                out.setdefault((session.study.prompt_id, lane.model), []).extend(resp.grades)
        return out
    finally:
        store.close()


def test_answers_are_graded_as_they_end_and_again_after_the_key_changes(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    suite = keyed_suite(tmp_path / "s.toml", 'contains_all = ["tin roof"]')
    code, out, err = run(capsys, "study", "run", str(suite), "--yes")
    assert code == 0, err
    got = grades(home)
    # Both demo models' answers mention a tin roof: every keyed answer is right, graded once.
    for model in ("demo-fast@tps=0", "demo-reasoner@tps=0"):
        assert [g.correct for g in got[("roof", model)]] == [True, True]
        assert all(g.grader == "key" and "required" in g.detail for g in got[("roof", model)])
        assert got[("open", model)] == []  # no key, no grade
    # Accuracy needs no vote: `chatlab stats` shows it before anyone has rated.
    code, out, err = run(capsys, "stats", "--json")
    assert code == 0, err
    rows = {a["id"]: a for a in json.loads(out)["accuracy"]}
    assert {k: (a["correct"], a["graded"]) for k, a in rows.items()} == {
        "demo:demo-fast@tps=0": (2, 2),
        "demo:demo-reasoner@tps=0": (2, 2),
    }
    code, out, err = run(capsys, "stats")
    assert "Accuracy on prompts with an answer key" in out and "100%" in out and "no votes match" in out
    # The key is edited: grading again by the edited suite changes every keyed answer,
    # and the study keeps the new key (a plain `study grade` uses it from now on).
    edited = keyed_suite(tmp_path / "s2.toml", "number = 42")
    code, out, err = run(capsys, "study", "grade", "Keyed", "--suite", str(edited))
    assert code == 0, err
    assert "graded 4 answers of 1 keyed prompt: 0 right (0%)" in out and "4 grades changed: roof 4" in out
    got = grades(home)
    assert all(
        not g.correct and g.detail == "expected 42, found no number" for g in got[("roof", "demo-fast@tps=0")]
    )
    code, out, err = run(capsys, "study", "grade", "Keyed")
    assert code == 0 and "0 right" in out and "no grade changed" in out
    # A suite whose prompt of the same id asks something else is refused; nothing changes.
    other = keyed_suite(tmp_path / "s3.toml", 'contains_all = ["tin"]', text="Something else.")
    code, out, err = run(capsys, "study", "grade", "Keyed", "--suite", str(other))
    assert code == 2 and "prompt 'roof' asks something else" in err and "no answer was graded again" in err
    assert all(not g.correct for g in grades(home)[("roof", "demo-fast@tps=0")])
    # A rating pack for other raters carries no grade: it is a side channel like a name.
    code, _, err = run(capsys, "export", "--study", "Keyed", "--rating-pack", "-o", str(tmp_path / "p.json"))
    assert code == 0, err
    assert (
        '"grades"' not in (tmp_path / "p.json").read_text()
        and "expected 42" not in (tmp_path / "p.json").read_text()
    )
    # The grades are in the export (version 3), and read back.
    code, out, err = run(capsys, "export", "--study", "Keyed", "--unblind", "-o", str(tmp_path / "x.json"))
    assert code == 0, err
    doc = json.loads((tmp_path / "x.json").read_text())
    assert doc["version"] == 3
    exported = [g for s in doc["sessions"] for r in s["turns"][0]["responses"] for g in r.get("grades", [])]
    assert len(exported) == 4 and all(
        g == {"grader": "key", "correct": False, "detail": "expected 42, found no number"} for g in exported
    )
    sessions = parse_document(doc)
    assert sum(len(r.grades) for s in sessions for r in s.turns[0].responses.values()) == 4


def test_a_study_without_keys_has_nothing_to_grade(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "Open"\n[[prompts]]\nid = "p"\ntext = "Write."\n'
        '[[lanes]]\nprovider = "demo"\nmodel = "demo-fast@tps=0"\n'
    )
    assert run(capsys, "study", "run", str(suite), "--yes")[0] == 0
    code, _, err = run(capsys, "study", "grade", "Open")
    assert code == 0 and "no prompt with an answer key" in err


def test_only_a_finished_answer_is_graded_and_a_failed_one_loses_its_grade() -> None:
    key = parse_key({"number": 4})
    resp = Response("lane", status=Status.OK, text_parts=["2 + 2 = 4"])
    assert grade_response(resp, key) and resp.grades == [Grade(True, "expected 4, found 4")]
    assert not grade_response(resp, key)  # the same grade again: nothing changed
    resp.status = Status.ERROR
    assert grade_response(resp, key) and resp.grades == []
    running = Response("lane", status=Status.RUNNING, text_parts=["4"])
    assert not grade_response(running, key) and running.grades == []
    # Another grader's grade is left alone.
    judged = Response("lane", status=Status.OK, text_parts=["5"], grades=[Grade(True, "looks fine", "judge")])
    grade_response(judged, key)
    assert [g.grader for g in judged.grades] == ["judge", "key"] and not judged.grades[1].correct


def test_the_reasoning_is_never_graded() -> None:
    key = parse_key({"number": 41})
    resp = Response("lane", status=Status.OK, reasoning_parts=["maybe 41"], text_parts=["It is 42."])
    grade_response(resp, key)
    assert resp.grades == [Grade(False, "expected 41, found 42")]
