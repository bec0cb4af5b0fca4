"""The shipped demo suite, run as a study on the loopback server with no key (unpaced,
so it takes seconds): every lane answers every prompt, each keyed prompt's answers are
right at exactly the lane's scripted rate when graded by its key, and the effort ladder
reports more reasoning the higher the effort."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.core.studies.answers import grade
from chatlab.core.studies.suites import load_suite, shipped_suites
from chatlab.demo.server import DemoServer

# The instruction a prompted lane sends contains <think>; this lane system prompt says
# the same, so the test doesn't depend on how the instruction is worded.
THINK = "Think inside <think> and </think> before you answer."


def unpaced_demo_suite(path: Path) -> Path:
    text = next(p for p in shipped_suites() if p.name == "demo.toml").read_text("utf-8")
    text = re.sub(r'model = "(demo-[a-z]+)"', r'model = "\1@tps=0"', text)
    text = text.replace('{ think = "prompted" }', f'{{ think = "prompted", system = "{THINK}" }}')
    path.write_text(text, "utf-8")
    return path


def test_the_demo_study_gives_each_lane_its_scripted_rate(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[providers.demo]\nbase_url = "{server.openai_base_url}"\n')
    path = unpaced_demo_suite(tmp_path / "demo.toml")
    suite = load_suite(path)
    assert len(suite.lanes) == 7 and len(suite.prompts) == 10 and suite.samples == 2
    code = cli.main(["study", "run", str(path), "--yes"])
    out, err = capsys.readouterr()
    assert code == 0 and "140 of 140 answered, 0 failed" in out, err
    keys = {p.id: p.answer for p in suite.prompts}
    con = sqlite3.connect(home / "data" / "chatlab.db")
    try:
        rows = con.execute(
            "SELECT s.study_prompt, l.label, r.status, r.text, r.reasoning, r.usage FROM responses r "
            "JOIN turns t ON t.id = r.turn_id JOIN sessions s ON s.id = t.session_id "
            "JOIN lanes l ON l.id = r.lane_id WHERE s.study_id IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 140 and {r[2] for r in rows} == {"ok"}
    right: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    reasoning_tokens: dict[str, set[int]] = {}
    for prompt_id, label, _, text, _reasoning, usage in rows:
        key = keys[prompt_id]
        if key is not None:
            asked[label] += 1
            right[label] += grade(key, text.split("</think>")[-1]).correct
        reasoning_tokens.setdefault(label, set()).add(json.loads(usage)["reasoning_tokens"])
    assert set(asked.values()) == {10}
    assert right["Visible reasoner"] + right["Visible reasoner (placebo)"] == 18
    assert {label: right[label] for label in asked if "Visible" not in label} == {
        "Prompted to think": 7,
        "No reasoning": 5,
        "Hybrid, effort none": 5,
        "Hybrid, effort low": 7,
        "Hybrid, effort high": 9,
    }
    assert reasoning_tokens["Hybrid, effort none"] == {0}
    assert reasoning_tokens["Hybrid, effort low"] == {300}
    assert reasoning_tokens["Hybrid, effort high"] == {3_000}
    assert reasoning_tokens["No reasoning"] == {0}
    # The study graded each answer as it ended: the stored grades say the same.
    code = cli.main(["study", "grade", suite.name])
    out, err = capsys.readouterr()
    assert code == 0 and "graded 70 answers of 5 keyed prompts: 51 right" in out and "no grade changed" in out
    # A rater votes on every comparison (always the first answer shown, guessing it was
    # trained): chatlab stats carries every part of the answer card, in JSON and words.
    from chatlab.core.studies.rating import RatingQueue
    from chatlab.store.db import Store, default_path

    store = Store(default_path())
    try:
        [info] = store.studies()
        queue = RatingQueue(store.study_sessions(info.id, []), "name:ann", seed=1, sink=store, complete=True)
        while queue.current is not None:
            queue.vote(0, [0])
    finally:
        store.close()
    assert cli.main(["stats", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    kinds = {c["id"]: c["kind"] for c in doc["contenders"]}
    assert kinds["demo:demo-fast@tps=0 {think=prompted}"] == "prompted"
    assert kinds["demo:demo-fast@tps=0"] == "plain" and kinds["demo:demo-reasoner@tps=0"] == "native"
    assert {a["id"]: a["correct"] for a in doc["accuracy"]}[
        "demo:demo-hybrid@tps=0 {reasoning_effort=high}"
    ] == 9
    helps = {(h["with"], h["without"]) for h in doc["reasoning_help"]}
    assert ("demo:demo-fast@tps=0 {think=prompted}", "demo:demo-fast@tps=0") in helps
    assert doc["reasoning_tokens"]["demo:demo-hybrid@tps=0 {reasoning_effort=low}"]["all"]["median"] == 300
    [dose] = doc["dose_response"]
    assert [p["median_reasoning_tokens"] for p in dose["points"]] == [0, 300, 3000]
    assert doc["discrimination_reasoning"]["trials"] > 0 and doc["discrimination"] is None
    assert cli.main(["stats"]) == 0
    text = capsys.readouterr().out
    # The scripted rates: the hybrid at effort high is 9 in 10 right, at none 5 in 10 (+40).
    assert text.startswith(
        "Where does reasoning help? Where answers can be checked, reasoning made a clear difference: "
        "Hybrid, effort high vs Hybrid, effort none +40 points"
    )
    for heading in (
        "Could you tell?",
        "Reasoning tokens per answer",
        "More thinking, better answers?",
        "Details",
    ):
        assert heading in text
