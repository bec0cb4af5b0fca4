"""Hostile study-suite files and data: every bad input is one short SuiteError line (starting
with the file's path for load_suite), nothing else is raised, nothing hangs, and odd but
valid input (CRLF, unicode) loads with its text kept.

Tests marked ``xfail(strict=True)`` record findings: behaviour that is wrong today."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from chatlab.core.settings.presets import DEMO_PRESET
from chatlab.core.studies.suites import Suite, SuiteError, load_suite, parse_suite

pytestmark = pytest.mark.hostile

MODEL = 'model = "demo-fast"'
BASE = 'name = "s"\n[[lanes]]\nprovider = "demo"\nmodel = "demo-fast"\n[[prompts]]\nid = "p1"\ntext = "hi"\n'
LANE = {"provider": "demo", "model": "demo-fast"}
BREAKS = ("\n", "\r", "\u2028", "\u2029")


def suite(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "s", "prompts": [{"id": "p1", "text": "hi"}], "lanes": [dict(LANE)]}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def with_lane(**lane: Any) -> dict[str, Any]:
    return suite(lanes=[{**LANE, **lane}])


def attempt(fn: Callable[[], Suite]) -> tuple[Suite | None, SuiteError | None]:
    """Run ``fn``; a SuiteError is returned, anything else propagates (a hang is caught by
    pytest-timeout: how long a check takes on a shared machine is no finding)."""
    try:
        return fn(), None
    except SuiteError as exc:
        return None, exc


def assert_one_line(exc: SuiteError | None, prefix: str = "") -> str:
    assert exc is not None, "expected a SuiteError"
    message = str(exc)
    assert not any(ch in message for ch in BREAKS), message
    assert len(message) < 500, message
    assert message.startswith(prefix), message
    return message


def write(tmp_path: Path, text: str | bytes, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# -- refused cleanly today ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        (
            'prompts = {a = {id = "p", text = "x"}}\nname = "s"\nlanes = [{provider = "demo", model = "m"}]',
            "list",
        ),
        ('name = "s"\nlanes = "demo"\nprompts = [{id = "p", text = "x"}]', "list"),
        ('name = "s"\nlanes = ["demo"]\nprompts = [{id = "p", text = "x"}]', "object"),
        (BASE.replace(MODEL, MODEL + "\nparams = [1]"), "object"),
        (BASE.replace(MODEL, MODEL + "\nparams = {temperature = nan}"), "finite"),
        (BASE.replace(MODEL, MODEL + "\nparams = {temperature = -inf}"), "finite"),
        (
            BASE.replace(MODEL, MODEL + "\nparams = {max_output_tokens = inf}"),
            "integer",
        ),
        (
            BASE.replace(
                'model = "demo-fast"', f'model = "demo-fast"\nparams = {{thinking_budget = {2**64}}}'
            ),
            "at most",
        ),
        (BASE.replace(MODEL, MODEL + "\nparams = {system = {}}"), "string"),
        (BASE.replace(MODEL, MODEL + '\nparams = {"a\\nb" = 1}'), "unknown key"),
        ("samples = 1" + "0" * 3999 + "\n" + BASE, "at most 100"),
        ("seed = 1" + "0" * 3999 + "\n" + BASE, "at most"),
        (f"seed = {2**64}\n" + BASE, "at most"),
        ("seed = 0xffffffffffffffffffff\n" + BASE, "at most"),
        ("budget_usd = 1" + "0" * 3999 + "\n" + BASE, "at most"),
        ("budget_usd = inf\n" + BASE, "at most"),
        ("budget_usd = -inf\n" + BASE, "negative"),
        (BASE + f"[concurrency]\ndemo = {2**64}\n", "at most 64"),
        (BASE + "[concurrency]\ndemo = nan\n", "integer"),
        ("samples = true\n" + BASE, "integer"),
        ("placebo = 1\n" + BASE, "true or false"),
        (BASE.replace('"hi"', '"\\ud800"'), "Unicode"),  # a lone surrogate escape is bad TOML
        (BASE.replace('"hi"', '"h\x01i"'), "Illegal character"),
        ("x = 1" + "0" * 5000, "invalid TOML"),
    ],
    ids=[
        "prompts as a table",
        "lanes as a string",
        "lanes of strings",
        "params as a list",
        "temperature nan",
        "temperature -inf",
        "max tokens inf",
        "thinking budget 2**64",
        "system as a table",
        "param key with a newline",
        "4000-digit samples",
        "4000-digit seed",
        "2**64 seed",
        "hex seed",
        "4000-digit budget",
        "budget inf",
        "budget -inf",
        "2**64 concurrency",
        "concurrency nan",
        "samples bool",
        "placebo int",
        "lone surrogate escape",
        "raw control character",
        "5000-digit integer",
    ],
)
def test_wrong_types_and_odd_numbers_are_one_line_errors(tmp_path: Path, toml: str, words: str) -> None:
    path = write(tmp_path, toml)
    _, exc = attempt(lambda: load_suite(path))
    assert words in assert_one_line(exc, str(path))


def test_a_directory_a_symlink_loop_and_a_missing_file_are_one_line(tmp_path: Path) -> None:
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    for path in (tmp_path, loop, tmp_path / "no" / "such.toml"):
        _, exc = attempt(partial(load_suite, path))
        assert "cannot read" in assert_one_line(exc, str(path))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    path.chmod(0)
    _, exc = attempt(lambda: load_suite(path))
    assert "cannot read" in assert_one_line(exc, str(path))


def test_big_files_do_not_hang(tmp_path: Path) -> None:
    junk = write(tmp_path, "# " + "x" * 10_000_000 + "\n" + BASE, "junk.toml")  # 10 MB comment
    suite_, _ = attempt(lambda: load_suite(junk))
    assert suite_ is not None and suite_.prompts[0].text == "hi"
    many = BASE + "".join(f'[[prompts]]\nid = "q{i}"\ntext = "{"w" * 5000}"\n' for i in range(2000))
    big = write(tmp_path, many, "big.toml")  # 10 MB, one prompt too many
    _, exc = attempt(lambda: load_suite(big))
    assert "at most 2000" in assert_one_line(exc, str(big))


def test_crlf_and_unicode_load_with_their_text(tmp_path: Path) -> None:
    text = 'name = "Étude 🍂 秋"\n[[lanes]]\nprovider = "demo"\nmodel = "demo-fast"\nlabel = "ラベル"\n'
    text += '[[prompts]]\nid = "p1"\ntext = """naïve\ttab\nline two 💡 \\u2028 end"""\ntags = ["a-1"]\n'
    path = write(tmp_path, text.replace("\n", "\r\n"))
    s, exc = attempt(lambda: load_suite(path))
    assert exc is None and s is not None
    assert s.name == "Étude 🍂 秋" and s.lanes[0].label == "ラベル"  # a name is one line (no U+2028)
    # TOML folds CRLF in a multi-line string; a prompt may hold any line separator.
    assert s.prompts[0].text == "naïve\ttab\nline two 💡 \u2028 end"


def test_a_preset_name_must_match_exactly_and_placebo_works_with_a_preset() -> None:
    for name in (
        f" {DEMO_PRESET} ",
        DEMO_PRESET.upper(),
        DEMO_PRESET + "\n",
        DEMO_PRESET.replace(" ", "\u00a0"),
    ):
        _, exc = attempt(partial(parse_suite, suite(lanes=None, preset=name)))
        assert "there is no preset" in assert_one_line(exc, "preset")
    s = parse_suite(suite(lanes=None, preset=DEMO_PRESET, placebo=True))
    assert len(s.lanes) == 4 and s.lanes[-1].model == s.lanes[0].model and "placebo" in s.lanes[-1].label


@pytest.mark.parametrize("data", [None, [], "x", 5, {1: 2}], ids=["none", "list", "str", "int", "int key"])
def test_a_document_that_is_not_a_table_is_one_line(data: Any) -> None:
    _, exc = attempt(lambda: parse_suite(data))
    assert_one_line(exc)


# -- findings -----------------------------------------------------------------------------


def test_a_nan_budget_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "budget_usd = nan\n" + BASE)
    _, exc = attempt(lambda: load_suite(path))
    assert "budget_usd" in assert_one_line(exc, str(path))


@pytest.mark.parametrize("field", ['id = "p1\\n"', 'id = "p1"\ntags = ["math\\n"]'], ids=["id", "tag"])
def test_a_trailing_newline_in_an_id_or_tag_is_refused(tmp_path: Path, field: str) -> None:
    path = write(tmp_path, BASE.replace('id = "p1"', field))
    _, exc = attempt(lambda: load_suite(path))
    assert "prompts[0]" in assert_one_line(exc, str(path))


def test_integer_fields_written_as_floats_are_refused_or_made_ints(tmp_path: Path) -> None:
    path = write(tmp_path, "samples = 2.0\nseed = 7.0\n" + BASE + "[concurrency]\ndemo = 4.0\n")
    s, exc = attempt(lambda: load_suite(path))
    if exc is not None:
        assert_one_line(exc, str(path))
        return
    assert s is not None
    assert type(s.samples) is int and type(s.seed) is int and type(s.limit("demo")) is int
    assert len(s.units()) == 2


@pytest.mark.parametrize("field", ["samples", "seed", "budget_usd", "name"])
def test_parse_suite_refuses_a_5000_digit_integer_as_a_suite_error(field: str) -> None:
    _, exc = attempt(lambda: parse_suite(suite(**{field: 10**5000})))
    assert_one_line(exc, field)


def test_a_too_long_prompt_says_it_is_too_long(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('"hi"', '"' + "x" * 1_000_000 + '"'))
    _, exc = attempt(lambda: load_suite(path))
    message = assert_one_line(exc, str(path))
    assert "too long" in message or "at most" in message


def test_a_place_with_a_control_character_is_named_once(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + '[concurrency]\n"a\\tb" = 0\n')
    _, exc = attempt(lambda: load_suite(path))
    message = assert_one_line(exc, str(path))
    assert message.count("concurrency.") == 1, message


def test_a_long_path_keeps_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / ("d" * 200) / ("e" * 200)
    folder.mkdir(parents=True)
    path = write(folder, 'name = "s"\n')
    _, exc = attempt(lambda: load_suite(path))
    assert "is missing" in assert_one_line(exc)


def test_a_byte_order_mark_loads_or_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())
    s, exc = attempt(lambda: load_suite(path))
    if exc is not None:
        message = assert_one_line(exc, str(path)).lower()
        assert "bom" in message or "byte order mark" in message
    else:
        assert s is not None and s.name == "s"


@pytest.mark.parametrize(
    "data",
    [
        suite(name="a\nb"),
        suite(name="x\u2028y"),
        suite(name="nul\x00"),
        suite(name="   "),
        with_lane(provider="demo\n"),
        with_lane(label="l\r\nm"),
        with_lane(model="demo-fast\x00"),
    ],
    ids=[
        "name newline",
        "name U+2028",
        "name NUL",
        "name blank",
        "provider newline",
        "label CRLF",
        "model NUL",
    ],
)
def test_control_characters_in_one_line_fields_are_refused(data: dict[str, Any]) -> None:
    _, exc = attempt(lambda: parse_suite(data))
    assert_one_line(exc)


@pytest.mark.parametrize(
    "data",
    [
        suite(name="a\ud800"),
        suite(description="\udfff"),
        with_lane(model="m\ud800"),
        with_lane(label="l\ud800"),
        with_lane(params={"system": "be \ud800 brief"}),
    ],
    ids=["name", "description", "model", "label", "lane system"],
)
def test_lone_surrogates_are_refused_or_replaced(data: dict[str, Any]) -> None:
    s, exc = attempt(lambda: parse_suite(data))
    if exc is not None:
        assert_one_line(exc)
        return
    assert s is not None
    texts = [
        s.name,
        s.description,
        *(t for lane in s.lanes for t in (lane.model, lane.label, lane.params.system or "")),
    ]
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for text in texts for ch in text)


def test_a_huge_concurrency_table_is_refused_quickly() -> None:
    _, exc = attempt(lambda: parse_suite(suite(concurrency={f"p{i}": 1 for i in range(100_000)})))
    assert "concurrency" in assert_one_line(exc)


@pytest.mark.parametrize("key", ["opnai", ""], ids=["typo", "empty"])
def test_concurrency_for_a_provider_no_lane_uses_is_refused(key: str) -> None:
    _, exc = attempt(lambda: parse_suite(suite(concurrency={key: 2})))
    assert_one_line(exc, "concurrency")


def test_the_seed_limit_is_shown_exactly() -> None:
    _, exc = attempt(lambda: parse_suite(suite(seed=2**64)))
    message = assert_one_line(exc, "seed")
    assert "9007199254740991" in message.replace(",", ""), message
