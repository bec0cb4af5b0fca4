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
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
