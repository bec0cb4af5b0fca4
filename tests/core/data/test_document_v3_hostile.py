"""Session documents version 3 written to be misread: grades by the thousand, a grader
named with control characters, ``blind`` of the wrong type or contradicting
``sighted``, and version 1 and 2 documents that carry version 3's fields. Each is
refused naming its place, or read as the format page (chatlab/core/data/export.py)
says; through ``chatlab import`` too, without a traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chatlab import cli
from chatlab.core.data.export import DocumentError, document, parse_document
from chatlab.core.data.model import Grade
from tests.core.data.test_document_v3 import _session

pytestmark = pytest.mark.hostile


def doc_with(change: Any, version: int = 3) -> dict[str, Any]:
    doc = copy.deepcopy(document([_session(blind=True)]))
    doc["version"] = version
    turn = doc["sessions"][0]["turns"][0]
    change(turn["votes"][0], turn["responses"][0])
    return doc


REFUSED = {
    "10,000 grades": (
        lambda v, r: r.update(
            grades=[{"grader": f"g{i}", "correct": True, "detail": ""} for i in range(10_000)]
        ),
        "responses[0].grades",
        "at most 16",
    ),
    "a 1 MB detail": (
        lambda v, r: r.update(grades=[{"grader": "key", "correct": True, "detail": "x" * 1_000_000}]),
        "grades[0].detail",
        "is too long",
    ),
    "a grader with an escape": (
        lambda v, r: r.update(grades=[{"grader": "key\x1b[2J", "correct": True, "detail": ""}]),
        "grades[0].grader",
        "no control or invisible characters",
    ),
    "a grader with a newline": (
        lambda v, r: r.update(grades=[{"grader": "key\n", "correct": True, "detail": ""}]),
        "grades[0].grader",
        "no control or invisible characters",
    ),
    "a grader that looks like key": (
        lambda v, r: r.update(grades=[{"grader": "key\u200b", "correct": True, "detail": ""}]),
        "grades[0].grader",
        "no control or invisible characters",
    ),
    "a rater id ending in a newline": (
        lambda v, r: v.update(rater_id="ann\n"),
        "votes[0].rater_id",
        "",
    ),
    "grades null": (lambda v, r: r.update(grades=None), "responses[0].grades", "must be a list"),
    "blind null": (lambda v, r: v.update(blind=None), "votes[0].blind", "must be true or false"),
    "blind 1": (lambda v, r: v.update(blind=1), "votes[0].blind", "must be true or false"),
    "blind false and sighted false": (
        lambda v, r: v.update(blind=False, sighted=False),
        "votes[0].blind",
        "contradicts its sighted",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_hostile_version_3_field_is_refused_naming_its_place(case: str) -> None:
    change, where, says = REFUSED[case]
    with pytest.raises(DocumentError) as info:
        parse_document(doc_with(change))
    assert where in info.value.path and says in str(info.value)


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_document_with_version_3_fields_reads_them_as_version_3_says(version: int) -> None:
    def change(v: dict[str, Any], r: dict[str, Any]) -> None:
        v.update(blind=False)
        v.pop("sighted", None)
        r.update(grades=[{"grader": "key", "correct": False, "detail": "expected 4, found 5"}])

    [session] = parse_document(doc_with(change, version))
    turn = session.turns[0]
    assert turn.votes[0].sighted  # blind: false, though the session is blind
    assert turn.responses[session.lanes[0].id].grades == [Grade(False, "expected 4, found 5")]


def test_chatlab_import_refuses_a_hostile_grade_by_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hostile.json"
    doc = doc_with(
        lambda v, r: r.update(grades=[{"grader": "\x1b]0;pwned\x07", "correct": True, "detail": ""}])
    )
    path.write_text(json.dumps(doc), "utf-8")
    code = cli.main(["import", str(path)])
    _, err = capsys.readouterr()
    assert code != 0
    assert "grades[0].grader" in err and "\x1b" not in err and "\x07" not in err
