"""A study that shows reasoning: the suite key kept in the snapshot and on every
comparison, the plan's one-line warning for each lane whose reasoning won't be on
screen (and why), the blind queue showing every answer's reasoning alike, and a rating
pack carrying it to other raters: end to end over the real SDKs and the loopback server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chatlab import cli
from chatlab.core.data.export import parse_document
from chatlab.core.data.model import LaneParams
from chatlab.core.lab.blind import NOT_SHOWN
from chatlab.core.settings.config import PresetLane, load_config, parse_config
from chatlab.core.studies.controller import StudyController
from chatlab.core.studies.estimate import reasoning_unseen, reasoning_warnings
from chatlab.core.studies.packs import rating_pack
from chatlab.core.studies.rating import RatingQueue
from chatlab.core.studies.study import comparisons, suite_data
from chatlab.core.studies.suites import SuiteError, load_suite, parse_suite
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path
from tests.core.studies.test_study import write_config, write_suite

SUITE: dict[str, Any] = {
    "name": "Thinking quiz",
    "show_reasoning": True,
    "prompts": [{"id": "p0", "text": "Write a haiku."}],
    "lanes": [{"provider": "demo", "model": "demo-reasoner"}, {"provider": "demo", "model": "demo-fast"}],
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_suite_key_is_kept_in_the_snapshot_and_on_every_comparison() -> None:
    suite = parse_suite(SUITE)
    assert suite.show_reasoning and suite_data(suite)["show_reasoning"] is True
    assert parse_suite(suite_data(suite)) == suite  # the study's snapshot reads back the same
    assert all(s.show_reasoning and s.blind for s in comparisons(suite, "s1", "Thinking quiz"))
    without = parse_suite({k: v for k, v in SUITE.items() if k != "show_reasoning"})
    assert not without.show_reasoning and "show_reasoning" not in suite_data(without)
    assert not any(s.show_reasoning for s in comparisons(without, "s2", "Plain quiz"))
    with pytest.raises(SuiteError, match=r"^show_reasoning: "):
        parse_suite({**SUITE, "show_reasoning": "yes"})


CONFIG = parse_config(
    {
        "providers": {
            "oai-chat": {"kind": "openai-chat", "vendor": "openai"},
            "ollama": {"kind": "openai-chat", "base_url": "http://127.0.0.1:11434/v1", "needs_key": False},
        }
    }
)
HIDDEN, PLAIN, MAYBE = "hidden", "plain", "maybe"


@pytest.mark.parametrize(
    ("provider", "model", "params", "expected"),
    [
        ("oai-chat", "o4-mini", {}, HIDDEN),  # reasoning hidden over Chat Completions
        ("oai-chat", "openai/gpt-5-mini", {"reasoning_effort": "low"}, HIDDEN),
        ("oai-chat", "gpt-5.1", {"reasoning_effort": "none"}, PLAIN),  # not reasoning at all
        ("oai-chat", "gpt-5-chat-latest", {}, PLAIN),
        ("openai", "o4-mini", {}, None),  # the Responses kind sends summaries
        ("openai", "gpt-4.1", {}, PLAIN),
        ("openai", "gpt-4.1", {"think": "prompted"}, None),
        ("anthropic", "claude-sonnet-4-5", {}, PLAIN),
        ("anthropic", "claude-sonnet-4-5", {"thinking_budget": 4096}, None),
        ("anthropic", "claude-opus-4-6", {"reasoning_effort": "high"}, None),
        ("anthropic", "claude-sonnet-4-5", {"reasoning_effort": "none"}, PLAIN),
        ("anthropic", "claude-sonnet-4-5", {"thinking_budget": 0, "think": "prompted"}, None),
        ("deepseek", "deepseek-reasoner", {}, None),
        ("deepseek", "deepseek-chat", {}, PLAIN),
        ("demo", "demo-reasoner@tps=0", {}, None),
        ("demo", "demo-hidden", {}, HIDDEN),
        ("demo", "demo-fast@hidden=40", {}, HIDDEN),
        ("demo", "demo-fast", {}, PLAIN),
        ("demo", "demo-hybrid", {"reasoning_effort": "low"}, None),  # reasons visibly when asked
        ("demo", "demo-hybrid", {"reasoning_effort": "none"}, PLAIN),
        ("demo", "demo-hybrid", {}, PLAIN),
        ("ollama", "qwen3:8b", {}, MAYBE),  # it may reason unasked: said as likely, not known
        ("ollama", "qwen3:8b", {"reasoning_effort": "high"}, None),
        ("nowhere", "a-model", {}, MAYBE),  # a provider the config lacks
    ],
)
def test_which_lanes_reasoning_wont_be_on_screen(
    provider: str, model: str, params: dict[str, Any], expected: str | None
) -> None:
    entry = PresetLane(provider, model, LaneParams(**params))
    found = reasoning_unseen(entry, CONFIG.providers.get(provider))
    if expected is None:
        assert found is None
        return
    assert found is not None
    why, known = found
    assert known == (expected != MAYBE)
    if expected == HIDDEN:
        assert "count" in why or "no reasoning text" in why
    elif expected == PLAIN:
        assert why.startswith("a plain model")


OPENAI_NAMES = [
    "o1",
    "o3-mini",
    "o4-mini",
    "openai/o3",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5.1",
    "gpt-5-chat-latest",
]


def test_the_plan_and_study_run_warn_one_line_per_lane_and_why(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    lanes = [("demo", "demo-reasoner@tps=0"), ("demo", "demo-hidden@tps=0"), ("demo", "demo-fast@tps=0")]
    path = write_suite(
        tmp_path / "s.toml", lanes=lanes, prompts=1, samples=1, show_reasoning=True, placebo=True
    )
    code, out, err = run(capsys, "study", "run", str(path), "--dry-run")
    assert code == 0, err
    warned = [line for line in out.splitlines() if line.startswith("warning (show reasoning")]
    assert warned == [
        "warning (show reasoning, an unfair guess): demo:demo-hidden@tps=0: reasoning won't be on screen "
        "(the demo model sends a reasoning token count only)",
        "warning (show reasoning, an unfair guess): demo:demo-fast@tps=0: reasoning won't be on screen "
        '(a plain model: no reasoning setting, no think = "prompted")',
    ]  # the placebo twin of the first lane is not named again
    config = load_config()
    suite = load_suite(path, config)
    store = Store(default_path())
    try:
        studies = StudyController(store, lambda: config)
        plan = studies.plan_new(suite)
        assert plan.warnings == reasoning_warnings(suite, config) and len(plan.warnings) == 2
        studies.create(plan)
        assert studies.plan_resume(store.study(plan.study_id)).warnings == plan.warnings
    finally:
        store.close()
    quiet = write_suite(tmp_path / "q.toml", lanes=lanes, prompts=1, samples=1)
    code, out, _ = run(capsys, "study", "run", str(quiet), "--dry-run")
    assert code == 0 and "warning" not in out  # without show reasoning, nothing changes


def test_a_study_that_shows_reasoning_shows_every_answers_reasoning_alike_in_the_queue_and_a_pack(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, server: DemoServer
) -> None:
    write_config(home, server)
    lanes = [
        ("demo", "demo-reasoner@tps=0"),
        ("demo", "demo-hidden@tps=0,think_delay_s=0"),
        ("demo", "demo-fast@tps=0"),
    ]
    path = write_suite(tmp_path / "s.toml", lanes=lanes, prompts=1, samples=1, show_reasoning=True)
    code, _, err = run(capsys, "study", "run", str(path), "--yes")
    assert code == 0, err
    store = Store(default_path())
    try:
        [info] = store.studies()
        sessions = store.study_sessions(info.id)
    finally:
        store.close()
    assert [s.show_reasoning for s in sessions] == [True]
    turn = sessions[0].turns[0]
    hidden = turn.responses[sessions[0].lanes[1].id]
    assert hidden.hidden_reasoning and hidden.usage.reasoning_tokens == 412  # the provider hid it

    def reasoning_shown(of: list[Any]) -> list[str]:
        shown = RatingQueue(of, "ann").shown()
        assert shown is not None and shown.show_reasoning
        return sorted((a.reasoning or "" for a in shown.answers), key=lambda text: text != NOT_SHOWN)

    here = reasoning_shown(sessions)
    # One answer shows its reasoning; the hidden reasoner and the plain model read alike.
    assert here[:2] == [NOT_SHOWN, NOT_SHOWN] and here[2].startswith("The user wants a haiku")
    pack = rating_pack(sessions, info.name)
    [doc_session] = pack.doc["sessions"]
    assert doc_session["show_reasoning"] is True
    for answer in doc_session["turns"][0]["responses"]:
        # Only the text a rater may read: nothing says the provider hid the rest.
        assert answer["hidden_reasoning"] is False and answer["usage"]["reasoning_tokens"] == 0
    # The hidden reasoner's count (412) is nowhere (a random id may hold the digits).
    assert re.search(r"(?<![0-9a-zA-Z])412(?![0-9a-zA-Z])", json.dumps(doc_session)) is None
    assert reasoning_shown(parse_document(pack.doc)) == here  # the other rater sees the same
