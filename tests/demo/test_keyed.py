"""The demo suite's keyed prompts are answered right or wrong at the scripted rates:
every keyed prompt of ``demo.toml`` has a scripted right answer that passes its key and a
wrong one that fails it (graded by :mod:`chatlab.core.studies.answers`), the suite covers
every kind of key, and over the official SDKs each model and setting gives exactly its
rate of right answers in every block of requests, whichever wire format asks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatlab.core.studies.answers import grade
from chatlab.core.studies.suites import Prompt, load_suite, shipped_suites
from chatlab.demo import keyed
from chatlab.demo.scripts import BLOCK, DEMO_SCRIPTS, RATES, Asked, for_request, is_right, think_block
from chatlab.demo.server import DemoServer
from tests.demo.wire import FORMATS, answer_part, ask, effort_kwargs

THINK = "Think first, inside <think> and </think>."


def demo_suite_path() -> Path:
    return next(p for p in shipped_suites() if p.name == "demo.toml")


def keyed_prompts() -> list[Prompt]:
    return [p for p in load_suite(demo_suite_path()).prompts if p.answer is not None]


def test_every_keyed_prompt_of_the_demo_suite_has_a_right_and_a_wrong_answer() -> None:
    prompts = keyed_prompts()
    assert [p.id for p in prompts] == [k.id for k in keyed.KEYED]
    for prompt, key in zip(prompts, keyed.KEYED, strict=True):
        assert prompt.answer is not None and prompt.verifiable
        assert keyed.find(prompt.text) == (keyed.KEYED.index(key), key)
        assert grade(prompt.answer, key.right).correct, (key.id, grade(prompt.answer, key.right).detail)
        assert not grade(prompt.answer, key.wrong).correct, key.id
        # The thinking that leads to each ends where its answer does.
        for answer, paragraphs in ((key.right, key.think_right), (key.wrong, key.think_wrong)):
            after_think = answer_part(think_block(keyed.thinking(paragraphs)) + answer)
            assert after_think == answer and grade(prompt.answer, after_think) == grade(prompt.answer, answer)
    assert {p.answer.kind for p in prompts if p.answer} == {"exact", "regex", "number", "choice", "contains"}
    number = next(p.answer for p in prompts if p.answer and p.answer.kind == "number")
    assert number.tolerance > 0
    assert any(p.answer and p.answer.none_of and p.answer.expected for p in prompts)
    assert {"math", "code"} <= {t for p in prompts for t in p.tags}


def test_a_keyed_prompt_is_found_by_its_text_however_it_is_spaced() -> None:
    text = keyed.KEYED[2].prompt
    assert keyed.find("  " + text.replace(" ", "\n ") + "\n") == (2, keyed.KEYED[2])
    assert keyed.find(text + " Please.") is None and keyed.find("") is None
    assert keyed.thinking(("a", "b", "c", "d", "e"), "low") == "a\n\nd".replace("d", "e")
    assert keyed.thinking(("a", "b", "c", "d", "e"), "medium") == "a\n\nb\n\ne"


@pytest.mark.parametrize(("model", "mode"), [(m, s) for m, table in RATES.items() for s in table])
def test_each_model_and_setting_is_right_at_its_rate_in_every_block(model: str, mode: str) -> None:
    rate = RATES[model][mode]
    for place in range(len(keyed.KEYED)):
        for start in range(BLOCK):  # any BLOCK requests in a row
            assert sum(is_right(model, mode, place, start + n) for n in range(BLOCK)) == rate
    # Each prompt asked twice, as demo.toml does: exactly the rate, whatever the order.
    assert sum(is_right(model, mode, place, n) for place in range(len(keyed.KEYED)) for n in (0, 1)) == rate


def _setting_kwargs(fmt: str, mode: str) -> dict[str, object]:
    if mode == "prompted":
        return {"system": THINK}
    if mode in ("none", "low", "medium", "high"):
        return effort_kwargs(fmt, mode)
    return {}


@pytest.mark.parametrize(("model", "mode"), [(m, s) for m, table in RATES.items() for s in table])
def test_over_the_sdks_the_scripted_rate_holds_exactly(server: DemoServer, model: str, mode: str) -> None:
    """Each keyed prompt twice (a block of 10 requests), the wire format changing from one
    request to the next: right answers, graded by the suite's keys, at exactly the rate."""
    rate = RATES[model][mode]
    prompts = keyed_prompts()
    right = 0
    for i, prompt in enumerate(prompts * 2):
        fmt = FORMATS[i % len(FORMATS)]
        reply = ask(server, fmt, f"{model}@tps=0,think_delay_s=0", prompt.text, **_setting_kwargs(fmt, mode))  # type: ignore[arg-type]
        assert prompt.answer is not None
        if mode == "prompted":
            assert reply.text.startswith("<think>\n")
        elif model != "demo-hidden":
            assert "<think>" not in reply.text
        native = (mode == "native" and model != "demo-hidden") or mode in ("low", "medium", "high")
        assert bool(reply.reasoning) == native
        right += grade(prompt.answer, answer_part(reply.text)).correct
    assert right == rate
    assert {key[:2] for key in server.keyed_seen} == {(model, mode)}


def test_open_prompts_and_other_models_keep_their_scripts() -> None:
    seen: dict[tuple[str, str, str], int] = {}
    for name, script in DEMO_SCRIPTS.items():
        if script.judge:  # demo-judge answers each request with a verdict, or says it can't
            assert (
                "I can only judge" in for_request(name, script, Asked(prompt="Write a haiku."), seen).answer
            )
            continue
        assert for_request(name, script, Asked(prompt="Write a haiku."), seen) == script
    echo = DEMO_SCRIPTS["echo"]
    assert for_request("echo", echo, Asked(prompt=keyed.KEYED[0].prompt, prompted=True), seen) == echo
    assert seen == {}


def test_the_suite_says_the_rates_the_scripts_have() -> None:
    text = demo_suite_path().read_text("utf-8")
    rows = {
        "demo-reasoner (reasons visibly)": ("demo-reasoner", "native"),
        "demo-fast, plain": ("demo-fast", "plain"),
        "demo-fast, prompted to think (<think>)": ("demo-fast", "prompted"),
        "demo-hybrid, effort none": ("demo-hybrid", "none"),
        "demo-hybrid, effort low": ("demo-hybrid", "low"),
        "demo-hybrid, effort medium": ("demo-hybrid", "medium"),
        "demo-hybrid, effort high": ("demo-hybrid", "high"),
    }
    for row, (model, mode) in rows.items():
        found = re.search(re.escape(row) + r"\s+(\d+) of 10", text)
        assert found is not None and int(found.group(1)) == RATES[model][mode], row
