"""Every built-in preset through ``chatlab ask -m PRESET:MODEL`` against the loopback
server (its base_url overridden in config.toml, its key from the environment), the
``chatlab providers`` table, a lane whose reasoning setting its model can't honour
refused up front, and a local server that isn't running named with its hint."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.core.data.export import parse_document
from chatlab.core.data.model import Lane, LaneParams, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.core.settings.apikeys import KeyStore
from chatlab.core.settings.config import PRESETS, parse_config
from chatlab.demo.server import DemoServer
from chatlab.providers import ADAPTERS, make_adapter
from tests.conftest import run_turn

SECRET = "sk-test-" + "p" * 24


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def point_at(home: Path, server: DemoServer, preset: str) -> None:
    kind = PRESETS[preset].kind
    base = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[providers.{preset}]\nbase_url = "{base}"\nmax_retries = 0\n')


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_ask_works_with_every_preset(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    server: DemoServer,
    preset: str,
) -> None:
    if PRESETS[preset].kind not in ADAPTERS:
        pytest.skip(f"the {PRESETS[preset].kind} adapter is not in this tree yet")
    point_at(home, server, preset)
    for env in PRESETS[preset].env_candidates:
        monkeypatch.setenv(env, SECRET)
    code, out, err = run(capsys, "ask", "--json", "--no-save", "-m", f"{preset}:demo-fast@tps=0", "Hello?")
    assert code == 0, err
    [session] = parse_document(json.loads(out))
    [answer] = session.turns[0].responses.values()
    assert answer.status is Status.OK and answer.text
    assert SECRET not in out + err
    sent = server.log[-1]
    if PRESETS[preset].kind == "gemini":  # Gemini names the model in the path
        assert "/models/demo-fast@tps=0:streamGenerateContent" in sent.path
    else:
        assert sent.body is not None and sent.body["model"] == "demo-fast@tps=0"


def test_ask_refuses_a_setting_the_model_cant_honour_before_sending(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, server: DemoServer
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", SECRET)
    point_at(home, server, "deepseek")
    code, out, err = run(capsys, "ask", "--no-save", "-m", "deepseek:deepseek-reasoner{reasoning=off}", "Hi")
    assert code == 2 and out == "" and not server.log
    assert "deepseek-reasoner" in err and "always reasons" in err and err.count("\n") == 1


def test_ask_reasoning_option_is_the_knob_for_every_lane_and_a_lanes_own_setting_wins(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, server: DemoServer
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    point_at(home, server, "anthropic")
    code, _, err = run(
        capsys,
        "ask",
        "--no-save",
        "--reasoning",
        "3000",
        "-m",
        "anthropic:demo-fast@tps=0",
        "-m",
        "anthropic:demo-fast@tps=0{reasoning=off}",
        "-m",
        "anthropic:demo-fast@tps=0{think=prompted}",
        "Hi",
    )
    assert code == 0, err
    bodies = sorted((r.body or {}).get("thinking", {}).get("budget_tokens", 0) for r in server.log)
    assert bodies == [0, 0, 3000]  # the option's budget; the lane's own off; thinking first, none


@pytest.mark.parametrize("value", ["lots", "-5", "\u0663", "HIGH", ""])
def test_ask_reasoning_option_takes_a_level_or_a_number_of_tokens(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, out, err = run(
        capsys, "ask", "--reasoning", value.encode().decode("unicode_escape"), "-m", "demo:x", "Hi"
    )
    assert code == 2 and out == "" and "expected off, low, medium, high or a number of tokens" in err


def test_providers_lists_every_preset_with_its_knob(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "providers")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["provider", "wire", "format"]
    rows = {line.split()[0]: line for line in lines[1 : len(PRESETS) + 1]}
    assert set(rows) == set(PRESETS)
    assert "GROQ_API_KEY" in rows["groq"] and "reasoning_format" in rows["groq"]
    assert "enable_thinking" in rows["alibaba"] and "no key needed" in rows["lmstudio"]
    assert "base_url" in rows["azure"]  # not configured until its endpoint is set


@pytest.mark.parametrize("preset", ["lmstudio", "llamacpp", "vllm", "sglang", "ollama"])
def test_a_local_server_that_isnt_running_says_how_to_start_it(preset: str) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    config = parse_config({"providers": {preset: {"base_url": url, "max_retries": 0}}})
    lane = Lane(preset, "some-model", LaneParams())
    _, turn = run_turn(Runner(config, KeyStore(), make_adapter), [lane])
    error = turn.responses[lane.id].error
    assert error is not None
    hint = PRESETS[preset].hint
    assert hint and error.message == f"could not connect to {url} (connection refused) — {hint}"


def test_azure_needs_its_endpoint_and_then_talks_to_a_deployment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, server: DemoServer
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
    code, _, err = run(capsys, "ask", "--no-save", "-m", "azure:demo-fast", "Hi")
    assert code == 2 and "base_url" in err
    point_at(home, server, "azure")
    code, _, err = run(capsys, "ask", "--no-save", "-m", "azure:demo-fast", "Hi")
    assert code == 0, err
    entry = server.log[-1]
    assert "/openai/deployments/demo-fast/chat/completions" in entry.path
    assert entry.headers.get("api-key") == SECRET
