"""`chatlab ask` streaming: one lane's text reaches stdout while the lane still runs,
``--no-stream`` prints nothing before the end, several lanes with ``--stream`` print
whole blocks in the order they end, a lane cut off keeps its partial text, and what
streams is what the whole block would have said.

A lane is held open mid-answer with the demo server's ``fault=stall`` (the server goes
quiet after a few chunks for a minute) and ended by Ctrl-C (SIGINT), which stops every
lane and keeps what came; so every "while it runs" below is a state the test waits for,
never a race against a clock.
"""

from __future__ import annotations

import json
import os
import pty
import selectors
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.core.data.model import Status
from chatlab.demo.scripts import DEMO_SCRIPTS
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store, default_path
from tests.conftest import HANG_S, PYTHON, subprocess_env

STALLED = "demo:demo-fast@tps=0,fault=stall,after=6"  # six chunks, then silence


def _sigint_default() -> None:  # a shell's background job may have inherited SIGINT ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ask(home: Path, *args: str, stderr: int | None = None, progress: bool = False) -> subprocess.Popen[bytes]:
    env = subprocess_env(home)
    if progress:
        env.pop("CHATLAB_NO_PROGRESS")
    return subprocess.Popen(
        [PYTHON, "-m", "chatlab", "ask", "--no-save", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr is None else stderr,
        env=env,
        preexec_fn=_sigint_default,
    )


def read_until(fd: int, done: str, seen: bytes = b"") -> bytes:
    """What ``fd`` gives until its text contains ``done`` (fails on end of file or a hang)."""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while done not in seen.decode("utf-8", "replace"):
            assert sel.select(HANG_S), f"nothing more after {seen!r}"
            more = os.read(fd, 65536)
            assert more, f"ended before {done!r}: {seen!r}"
            seen += more
    return seen


def readable(fd: int) -> bool:
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        return bool(sel.select(0))


def finish(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=HANG_S)
    return out, err or b""


def test_one_lane_streams_its_text_while_it_runs_and_keeps_it_when_stopped(home: Path) -> None:
    proc = ask(home, "-m", STALLED, "hi")
    try:
        assert proc.stdout is not None
        first = read_until(proc.stdout.fileno(), "Rain")
        assert proc.poll() is None  # the lane is still going: the server has gone quiet
        assert first.decode().startswith(f"== {STALLED} ==\nRain")
        rest, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = (first + rest).decode()
    assert proc.returncode == 1, err
    lines = text.split("\n")
    assert lines[0] == f"== {STALLED} =="
    partial = "\n".join(lines[1:-4])  # what came before the server went quiet, all of it
    assert partial.startswith("Rain") and DEMO_SCRIPTS["demo-fast"].answer.startswith(partial)
    assert lines[-4:] == ["!! cancelled: stopped by the user", lines[-3], "", ""]
    assert lines[-3].startswith("[stopped · ttft")


def test_on_a_terminal_the_live_lines_step_aside_for_one_streaming_lane(home: Path) -> None:
    """stdout and stderr on one terminal: once the answer starts, the live lines are
    erased and never drawn again, so they can't be drawn over the text."""
    master, slave = pty.openpty()
    env = subprocess_env(home)
    env.pop("CHATLAB_NO_PROGRESS")
    proc = subprocess.Popen(
        [PYTHON, "-m", "chatlab", "ask", "--no-save", "-m", STALLED, "hi"],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
        preexec_fn=_sigint_default,
    )
    os.close(slave)
    rest: list[bytes] = []
    try:
        seen = read_until(master, "Rain")
        assert proc.poll() is None
        drain = threading.Thread(target=_drain, args=(master, rest), daemon=True)
        drain.start()
        proc.send_signal(signal.SIGINT)
        proc.wait(HANG_S)
        drain.join(HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    screen = (seen + b"".join(rest)).decode().replace("\r\n", "\n")
    before, header, after = screen.partition(f"== {STALLED} ==\n")
    assert header and after.startswith("Rain")
    if "\x1b[2K" in before:  # lines were drawn while the lane waited: erased first
        assert before.endswith("\x1b[J")
    assert "\x1b[" not in after and " tok/s" not in after.split("\n[stopped")[0]
    assert "!! cancelled: stopped by the user\n[stopped · ttft" in after


def test_no_stream_prints_nothing_until_every_lane_has_ended(home: Path) -> None:
    """The live lines (stderr, a terminal) say the lane is answering; stdout has nothing."""
    master, slave = pty.openpty()
    proc = ask(home, "--no-stream", "-m", STALLED, "hi", stderr=slave, progress=True)
    os.close(slave)
    drained: list[bytes] = []
    try:
        assert proc.stdout is not None
        seen = read_until(master, "answering")
        assert proc.poll() is None and not readable(proc.stdout.fileno())
        drain = threading.Thread(target=_drain, args=(master, drained), daemon=True)
        drain.start()
        out, _ = finish(proc)
        drain.join(HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 1
    assert out.decode().startswith(f"== {STALLED} ==\nRain")
    assert "!! cancelled: stopped by the user" in out.decode()
    assert b"tok" in seen  # the live lines were drawn


def _drain(fd: int, into: list[bytes]) -> None:
    try:
        while chunk := os.read(fd, 65536):
            into.append(chunk)
    except OSError:  # the terminal's other side closed
        pass


def test_several_lanes_with_stream_print_whole_blocks_in_the_order_they_end(home: Path) -> None:
    """The echo lane, second in lane order, ends first: its whole block comes at once,
    while the live lines (stderr, a terminal) say the first lane is still answering."""
    master, slave = pty.openpty()
    proc = ask(home, "--stream", "-m", STALLED, "-m", "demo:echo", "hi", stderr=slave, progress=True)
    os.close(slave)
    try:
        assert proc.stdout is not None
        first = read_until(proc.stdout.fileno(), "]\n\n")
        live = read_until(master, "stall answering")  # the name is cut at 32 characters
        assert proc.poll() is None
        drain = threading.Thread(target=_drain, args=(master, []), daemon=True)
        drain.start()
        rest, err = finish(proc)
        drain.join(HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 1, err
    assert first.decode().startswith("== demo:echo ==\necho (turn 1): hi\n[done · ttft")
    assert STALLED not in first.decode() and b"\x1b[J" in live  # the live lines made room for it
    stalled = rest.decode()
    assert stalled.startswith(f"== {STALLED} ==\nRain") and "!! cancelled: stopped by the user" in stalled
    assert stalled.endswith("]\n\n") and "== demo:echo ==" not in stalled


def test_several_lanes_without_stream_print_in_lane_order_at_the_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(["ask", "--no-save", "-m", "demo:demo-reasoner@tps=2000", "-m", "demo:echo", "hi"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.index("== demo:demo-reasoner@tps=2000 ==") < out.index("== demo:echo ==")


def _blocks_without_figures(text: str) -> list[str]:
    """The output with each figures line (timings differ from run to run) left out."""
    return [line for line in text.split("\n") if not line.startswith("[")]


@pytest.mark.parametrize(
    "model",
    [
        "demo:demo-reasoner@tps=0",  # reasoning streams first, then the answer
        "demo:echo",
        "demo:demo-fast@tps=0,fault=drop,after=10",  # cut off: the partial text, then the error
        "demo:demo-fast@tps=0,fault=error,after=10",  # an error event mid-stream
        "demo:demo-fast@fault=401",  # refused: nothing streamed, the whole block at the end
        "demo:demo-fast@tps=0,inject=controls,after=3",  # terminal controls made visible
        "demo:demo-fast@tps=0,chunk_min=1,chunk_max=1",  # one character a chunk: white space held
    ],
)
def test_one_lane_streams_the_same_text_as_the_whole_block(
    capsys: pytest.CaptureFixture[str], model: str
) -> None:
    streamed = cli.main(["ask", "--no-save", "-m", model, "hi"])
    out = capsys.readouterr().out
    whole = cli.main(["ask", "--no-save", "--no-stream", "-m", model, "hi"])
    expected = capsys.readouterr().out
    assert streamed == whole
    assert _blocks_without_figures(out) == _blocks_without_figures(expected)
    assert "\x1b" not in out


def test_a_hidden_reasoning_count_follows_the_streamed_answer(capsys: pytest.CaptureFixture[str]) -> None:
    """Known only from the usage at the end, so it comes after the text, not before it."""
    assert cli.main(["ask", "--no-save", "-m", "demo:demo-hidden@tps=0,think_delay_s=0", "hi"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[0] == "== demo:demo-hidden@tps=0,think_delay_s=0 =="
    assert lines[-4] == "-- reasoning: 412 reasoning tokens — text not returned --"
    assert lines[-3].startswith("[done · ttft")


def test_a_revised_answer_is_written_again_whole(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    """A Responses stream whose final text differs from its deltas: what streamed stays,
    then the provider's final answer, which is the one saved, and a note saying so."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[providers.r]\nkind = "openai-responses"\nneeds_key = false\n'
        f'base_url = "{server.openai_base_url}"\n'
    )
    code = cli.main(["ask", "-m", "r:demo-fast@tps=0,done_text=differs", "hi"])
    out = capsys.readouterr().out
    assert code == 0
    store = Store(default_path())
    try:
        [resp] = store.load(store.ids()[0]).turns[0].responses.values()
    finally:
        store.close()
    assert resp.status is Status.OK
    marker = "\n-- the provider's final answer: --\n"
    assert marker in out
    assert out.split(marker)[1].startswith(resp.text.rstrip() + "\n")
    assert "-- note: The provider's final answer differs from what it streamed" in out


def _chat_stream(*deltas: dict[str, str]) -> bytes:
    """A Chat Completions stream of ``deltas``, then its end and usage."""
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "late"}
    frames = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    frames.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    frames.append({**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9}})
    return b"".join(b"data: " + json.dumps(f).encode() + b"\n\n" for f in frames) + b"data: [DONE]\n\n"


def test_reasoning_that_comes_after_the_answer_began_is_printed_whole_at_the_end(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[providers.demo]\nbase_url = "{server.openai_base_url}"\n')
    body = _chat_stream(
        {"reasoning_content": "First, "},
        {"content": "The answer."},
        {"reasoning_content": "and then more."},
    )
    server.add_replay("late", body, chunk_size=40)
    assert cli.main(["ask", "--no-save", "-m", "demo:late", "hi"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("== demo:late ==\n-- reasoning --\nFirst,\n-- answer --\nThe answer.\n")
    assert (
        "-- the whole reasoning (it grew or changed after the answer began) --\nFirst, and then more.\n["
        in out
    )
    assert cli.main(["ask", "--no-save", "--no-stream", "-m", "demo:late", "hi"]) == 0
    assert "-- reasoning --\nFirst, and then more.\n-- answer --\nThe answer.\n" in capsys.readouterr().out


def test_json_is_one_document_at_the_end_and_refuses_stream(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ask", "--no-save", "--json", "-m", "demo:echo", "hi"]) == 0
    assert json.loads(capsys.readouterr().out)["sessions"][0]["turns"][0]["responses"][0]["text"]
    assert cli.main(["ask", "--no-save", "--json", "--stream", "-m", "demo:echo", "hi"]) == 2
    _, err = capsys.readouterr()
    assert "--stream" in err and "--json" in err and err.count("\n") == 1
    assert cli.main(["ask", "--stream", "--no-stream", "-m", "demo:echo", "hi"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_reader_that_goes_away_ends_the_command_but_not_the_answer(home: Path) -> None:
    """``chatlab ask … | head -c 20``: the lane runs to its end and is saved whole."""
    env = subprocess_env(home)
    proc = subprocess.Popen(
        [PYTHON, "-m", "chatlab", "ask", "-m", "demo:demo-reasoner@tps=0,repeat=50", "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    read_until(proc.stdout.fileno(), "reasoning")
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(HANG_S) == 141, err
    store = Store(home / "data" / "chatlab.db")
    try:
        [resp] = store.load(store.ids()[0]).turns[0].responses.values()
    finally:
        store.close()
    assert resp.status is Status.OK and resp.text.startswith("**Tin roof")
