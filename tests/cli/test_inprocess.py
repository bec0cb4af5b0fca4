"""`chatlab` commands called in-process (``cli.main([...])``), the way llm tests its CLI
with click's runner: ask (text, JSON, stdin, a failed lane, --no-save), sessions,
export and import round trips, and one-line usage errors. A few subprocess tests in
test_cli.py keep the real exit codes and terminal behaviour covered."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.core.data.export import parse_document
from chatlab.core.settings import prompted
from chatlab.demo.scripts import Script
from chatlab.demo.server import DemoServer
from tests.cli.test_cli import FAST

LANES = list(FAST)  # the three demo lanes, without their delays


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_every_lane_and_keeps_the_session(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ask", *LANES, "Write a haiku.")
    assert code == 0, err
    for name in ("demo:demo-reasoner@tps=0", "demo:demo-fast@tps=0"):
        assert f"== {name} ==" in out
    assert "-- reasoning --" in out and "412 reasoning tokens — text not returned" in out
    assert out.count("[done · ttft") == 3
    code, listing, _ = run(capsys, "sessions")
    [row] = listing.splitlines()
    assert code == 0 and row.endswith("lanes 3  turns 1  Write a haiku.")


def test_ask_json_round_trips_through_export_and_import(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, "ask", "--json", *LANES[:4], "Hello?")
    assert code == 0, err
    [session] = parse_document(json.loads(out))
    assert [r.text for r in session.turns[0].responses.values()][1].startswith("Rain on the tin roof")
    target = tmp_path / "all.json"
    assert run(capsys, "export", "--all", "-o", str(target))[0] == 0
    monkeypatch.setenv("CHATLAB_HOME", str(tmp_path / "elsewhere"))
    code, out, err = run(capsys, "import", str(target))
    assert code == 0, err
    code, out, _ = run(capsys, "export", "--all")
    assert code == 0
    [again] = parse_document(json.loads(out))
    assert again.id == session.id
    assert [r.text for r in again.turns[0].responses.values()] == [
        r.text for r in session.turns[0].responses.values()
    ]


def test_a_failed_lane_exits_1_and_the_other_answer_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "ask", "-m", "demo:demo-fast@fault=500,fail_times=0", "-m", "demo:demo-fast@tps=0", "hi"
    )
    assert code == 1
    assert "!! server:" in out and "Rain on the tin roof" in out


def test_the_prompt_can_come_from_stdin_and_no_save_keeps_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("From a pipe.\n"))
    code, out, err = run(capsys, "ask", "--no-save", "-m", "demo:echo", "-")
    assert code == 0, err
    assert "From a pipe." in out
    code, listing, _ = run(capsys, "sessions")
    assert code == 0 and "From a pipe." not in listing


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["ask", "hi"], "no model given"),
        (["ask", "-m", "nosuch:model", "hi"], "unknown provider 'nosuch'"),
        (["ask", "-m", "demo:echo", "--temperature", "9", "hi"], "temperature"),
        (["ask", "-m", "demo:echo", "   "], "empty prompt"),
        (["ask", *["-m", "demo:echo"] * 9, "hi"], "9 models given: at most 8 lanes side by side"),
        (["ask", "-m", "demo:echo{think=always}", "hi"], "think must be one of prompted, got 'always'"),
        (["ask", "-m", "demo:echo{think=prompted", "hi"], "need their closing }"),
        (["ask", "-m", "demo:echo{temperature=warm}", "hi"], "temperature must be a number"),
        (["ask", "-m", "demo:echo{colour=red}", "hi"], "unknown key 'colour'"),
        (
            ["ask", "-m", "demo:echo{max_output_tokens=5000}", "--thinking-budget", "8000", "hi"],
            "larger than",
        ),
        (["-m", "demo:echo{think=always}", "hi"], "think must be one of prompted"),  # the window's -m
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_lane_of_ask_carries_its_own_parameters_and_a_prompted_one_is_asked_to_think(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    """``-m 'PROVIDER:MODEL{…}'``: the lane's own parameters win over the flags for every
    lane; ``think=prompted`` sends the instruction first, through the same core as the
    window and a study."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[providers.demo]\nbase_url = "{server.openai_base_url}"\n')
    server.add("thinks", Script(answer="<think>Weigh both.</think>\n\nBoth are fine."))
    code, out, err = run(
        capsys,
        "ask",
        "--json",
        "--system",
        "Be brief.",
        "--temperature",
        "0.5",
        "-m",
        'demo:thinks{think=prompted, temperature=0.2, label="asked to think"}',
        "-m",
        'demo:demo-fast@tps=0{system="Answer in French, please."}',
        "Which is better?",
    )
    assert code == 0, err
    bodies = {b["model"]: b for b in (entry.body for entry in server.log) if b}
    told = prompted.shipped_instruction()
    assert bodies["thinks"]["messages"][0] == {"role": "system", "content": f"{told}\n\nBe brief."}
    assert bodies["thinks"]["temperature"] == 0.2
    fast = bodies["demo-fast@tps=0"]
    assert fast["messages"][0]["content"] == "Answer in French, please." and fast["temperature"] == 0.5
    [session] = parse_document(json.loads(out))
    thinks, plain = session.lanes
    assert (thinks.label, thinks.params.think, thinks.params.system) == (
        "asked to think",
        "prompted",
        "Be brief.",
    )
    answer = session.turns[0].responses[thinks.id]
    assert (answer.reasoning, answer.text) == ("Weigh both.", "Both are fine.")
    assert answer.usage.reasoning_estimated and plain.params.think is None
