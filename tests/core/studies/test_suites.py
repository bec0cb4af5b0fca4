"""Study suites: the shipped ones load, every bad field is refused in one line naming its
place, hostile files (not UTF-8, deep nesting, huge) never raise anything else, and the
units of work have stable ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatlab.core.data.model import LaneParams
from chatlab.core.settings.config import parse_config
from chatlab.core.settings.presets import save_preset
from chatlab.core.studies.suites import SuiteError, load_suite, parse_suite, shipped_suites

PROMPT = {"id": "p1", "text": "Write a haiku."}
LANE = {"provider": "demo", "model": "demo-fast"}


def suite(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "s", "prompts": [dict(PROMPT)], "lanes": [dict(LANE)]}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_shipped_suites_load_and_say_what_they_are() -> None:
    paths = {p.name: p for p in shipped_suites()}
    assert set(paths) == {"demo.toml", "reasoning-vs-plain.toml"}
    demo = load_suite(paths["demo.toml"])
    assert demo.preset is None and [lane.provider for lane in demo.lanes] == ["demo"] * 7
    assert [lane.model for lane in demo.lanes].count("demo-hybrid") == 3  # an effort ladder
    assert [lane.params.reasoning_effort for lane in demo.lanes[3:6]] == ["none", "low", "high"]
    assert [lane.params.think for lane in demo.lanes].count("prompted") == 1
    assert len(demo.units()) == 7 * 10 * 2 and demo.budget_usd == 0.50 and demo.placebo
    keyed = [p for p in demo.prompts if p.answer is not None]
    assert len(keyed) == 5 and all(p.verifiable for p in keyed)
    assert {t for p in demo.prompts if p.answer is None for t in p.tags} == {"writing", "advice"}
    big = load_suite(paths["reasoning-vs-plain.toml"])
    assert len(big.prompts) == 24 and "haiku" in {p.id for p in big.prompts}
    tags = {t for p in big.prompts for t in p.tags}
    assert {"writing", "advice", "math", "code"} <= tags
    assert any(p.verifiable for p in big.prompts) and any(not p.verifiable for p in big.prompts)
    # Placebo: the first lane again, under its own name, as the last lane.
    assert big.placebo and big.lanes[-1].model == big.lanes[0].model and "placebo" in big.lanes[-1].label
    assert {lane.provider for lane in big.lanes} == {"anthropic", "openai", "deepseek"}
    assert [lane.params.think for lane in big.lanes].count("prompted") == 1  # the prompted control
    ladder = [lane.params.reasoning_effort for lane in big.lanes if lane.model == "claude-sonnet-4-5"]
    assert ladder == ["none", "low", "medium"] and len(big.lanes) == 8
    assert sum(p.answer is not None for p in big.prompts) == 8
    assert big.limit("openai") == 4 and big.limit("ollama") == 4


def test_units_have_stable_ids_one_per_prompt_lane_and_sample() -> None:
    data = suite(samples=3, prompts=[PROMPT, {"id": "p2", "text": "Again."}], lanes=[LANE, LANE])
    units = parse_suite(data).units()
    assert len(units) == 2 * 2 * 3 == len({u.id for u in units})
    assert units[0].id == "p1/0/0" and units[-1].id == "p2/1/2"
    assert [u.id for u in parse_suite(data).units()] == [u.id for u in units]  # the same every time


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        (suite(name=""), "name", "must not be empty"),
        (suite(name=None), "name", "is missing"),
        (suite(prompts=[]), "prompts", "must not be empty"),
        (suite(prompts=[{"id": "p1"}]), "prompts[0].text", "is missing"),
        (suite(prompts=[{"id": "has space", "text": "x"}]), "prompts[0].id", ""),
        (suite(prompts=[PROMPT, PROMPT]), "prompts[1].id", "repeats the id"),
        (suite(prompts=[{"id": "p", "text": "   "}]), "prompts[0].text", "is empty"),
        (suite(prompts=[{"id": "p", "text": "x", "tags": ["Writing"]}]), "prompts[0].tags[0]", ""),
        (
            suite(prompts=[{"id": "p", "text": "x", "tags": ["a", "a"]}]),
            "prompts[0].tags",
            "same entry twice",
        ),
        (
            suite(prompts=[{"id": "p", "text": "x", "verifiable": "yes"}]),
            "prompts[0].verifiable",
            "true or false",
        ),
        (suite(samples=0), "samples", "at least 1"),
        (suite(samples=101), "samples", "at most 100"),
        (suite(samples=2.5), "samples", "an integer"),
        (suite(budget_usd=-1), "budget_usd", "negative"),
        (suite(concurrency={"demo": 0}), "concurrency.demo", "at least 1"),
        (suite(colour="blue"), "(document)", "colour"),
        (suite(lanes=None), "lanes", "either lanes or a preset"),
        (suite(preset="nope"), "lanes", "either lanes or a preset"),
        (suite(lanes=None, preset="no such preset"), "preset", "there is no preset"),
        (suite(lanes=[{"provider": "demo"}]), "lanes[0].model", "is missing"),
        (
            suite(lanes=[{"provider": "demo", "model": "m", "params": {"temperature": 9}}]),
            "lanes[0]",
            "temperature",
        ),
        (
            suite(lanes=[{"provider": "demo", "model": "m", "params": {"colour": 1}}]),
            "lanes[0]",
            "unknown key",
        ),
        (suite(lanes=[dict(LANE)] * 9), "lanes", "at most 8"),
        (suite(lanes=[dict(LANE)] * 8, placebo=True), "placebo", "one more lane"),
    ],
)
def test_a_bad_field_is_one_line_naming_its_place(data: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(SuiteError) as info:
        parse_suite(data)
    message = str(info.value)
    assert info.value.path == path, message
    assert words in message and "\n" not in message and len(message) < 500


def test_a_users_preset_can_be_named_with_their_config() -> None:
    config = save_preset(
        parse_config({}),
        "mine",
        [
            __import__("chatlab.core.data.model", fromlist=["Lane"]).Lane(
                "demo", "demo-fast", LaneParams(temperature=0.3)
            )
        ],
    )
    s = parse_suite(suite(lanes=None, preset="mine"), config)
    assert [(lane.model, lane.params.temperature) for lane in s.lanes] == [("demo-fast", 0.3)]
    with pytest.raises(SuiteError, match="there is no preset"):
        parse_suite(suite(lanes=None, preset="mine"))  # without the config: shipped presets only


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe n\x00a\x00m\x00e\x00",  # UTF-16
        b'name = "caf\xe9"',  # latin-1
        b"x = " + b"[" * 5000 + b"]" * 5000,
        b"x = 1" + b"0" * 5000,
        b'name = "unterminated',
        b"",
    ],
    ids=["utf-16", "latin-1", "deep nesting", "huge integer", "bad TOML", "empty"],
)
def test_hostile_files_are_one_line_suite_errors(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(raw)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_missing_file_and_a_big_valid_one(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="cannot read"):
        load_suite(tmp_path / "absent.toml")
    path = tmp_path / "big.toml"
    lines = ['name = "big"', "[[lanes]]", 'provider = "demo"', 'model = "demo-fast"']
    for i in range(2000):
        lines += ["[[prompts]]", f'id = "p{i}"', f'text = "{"word " * 200}"']
    path.write_text("\n".join(lines), encoding="utf-8")
    s = load_suite(path)
    assert len(s.prompts) == 2000 and len(s.units()) == 2000
    lines += ["[[prompts]]", 'id = "one-too-many"', 'text = "x"']
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SuiteError, match="at most 2000"):
        load_suite(path)


def test_unicode_prompts_are_kept_and_lone_surrogates_made_valid() -> None:
    text = "Écris un haïku 🍂 — 秋の雨"
    s = parse_suite(suite(prompts=[{"id": "u", "text": text, "system": "be \ud800 brief"}]))
    assert s.prompts[0].text == text and s.prompts[0].system == "be \ufffd brief"


def test_hidden_repeats_need_the_names_kept_to_the_end() -> None:
    from chatlab.core.studies.suites import SuiteError, parse_suite

    base = {
        "name": "R",
        "prompts": [{"id": "p", "text": "Hi"}],
        "lanes": [{"provider": "demo", "model": "m"}],
    }
    assert parse_suite({**base, "repeats": 0.1}).repeats == 0.1
    with pytest.raises(SuiteError) as info:
        parse_suite({**base, "repeats": 0.1, "reveal": "each"})
    assert info.value.path == "repeats" and "reveal" in info.value.message
