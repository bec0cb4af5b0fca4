"""`chatlab ask` and friends as a user runs them: real subprocesses, the built-in demo
server, exit codes 0/1/2, one-line errors, and the session document."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, subprocess_env


def chatlab(home: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [PYTHON, "-m", "chatlab", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env={**subprocess_env(home), **(env or {})},
        timeout=90,
    )


FAST = (
    "-m",
    "demo:demo-reasoner@tps=0",
    "-m",
    "demo:demo-fast@tps=0",
    "-m",
    "demo:demo-hidden@tps=0,think_delay_s=0",
)


def test_ask_json_document(home: Path) -> None:
    proc = chatlab(home, "ask", *FAST, "--system", "be kind", "--json", "Write a haiku.")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["format"], doc["version"]) == ("chatlab.session", 3)
    assert doc["exported_at"] and doc["app_version"]
    [session] = doc["sessions"]
    assert session["title"] == "Write a haiku."
    assert [lane["model"] for lane in session["lanes"]][1] == "demo-fast@tps=0"
    assert session["lanes"][0]["params"] == {"system": "be kind"}
    [turn] = session["turns"]
    assert turn["prompt"] == "Write a haiku."
    reasoner, fast, hidden = turn["responses"]
    assert [r["lane_id"] for r in turn["responses"]] == [lane["id"] for lane in session["lanes"]]
    assert all(r["status"] == "ok" and r["error"] is None for r in turn["responses"])
    assert reasoner["reasoning"].startswith("The user wants a haiku") and "Tin roof" in reasoner["text"]
    assert fast["reasoning"] == "" and fast["usage"]["reasoning_tokens"] == 0
    assert hidden["hidden_reasoning"] and hidden["usage"]["reasoning_tokens"] == 412
    for r in turn["responses"]:
        assert set(r["usage"]) >= {
            "input_tokens",
            "cached_input_tokens",
            "output_tokens",
            "reasoning_tokens",
            "estimated",
        }
        assert r["usage"]["estimated"] is False
        assert r["cost_usd"] > 0 and r["price"]["source"].startswith("chatlab prices.toml: chatlab demo")
        assert r["timing"]["duration_s"] > 0 and r["timing"]["ttft_s"] >= 0
        assert r["finish_reason"] == "stop"


def test_ask_text_and_stdin_prompt(home: Path) -> None:
    proc = chatlab(home, "ask", "-m", "demo:echo", "-", stdin="what is up?\n")
    assert proc.returncode == 0, proc.stderr
    assert "== demo:echo ==" in proc.stdout and "echo (turn 1): what is up?" in proc.stdout
    assert "done ·" in proc.stdout


def test_any_failed_lane_exits_1_with_all_results(home: Path) -> None:
    proc = chatlab(
        home, "ask", "-m", "demo:demo-fast@tps=0", "-m", "demo:demo-fast@fault=429", "--json", "hi"
    )
    assert proc.returncode == 1
    ok, failed = json.loads(proc.stdout)["sessions"][0]["turns"][0]["responses"]
    assert ok["status"] == "ok" and ok["text"]
    assert failed["status"] == "error"
    assert failed["error"]["kind"] == "rate_limit" and failed["error"]["retry_after_s"] == 7


@pytest.mark.parametrize(
    "args,needle",
    [
        (("ask", "-m", "gpt-4o", "hi"), "malformed model 'gpt-4o'"),
        (("ask", "-m", "nowhere:gpt-4o", "hi"), "unknown provider 'nowhere'"),
        (("ask", "-m", "openai:gpt-4o", "hi"), "no API key for provider 'openai'"),
        (("ask", "hi"), "no model given"),
        (("ask", "-m", "demo:echo", "--temperature", "9", "hi"), "temperature must be between"),
        (("ask", "-m", "demo:echo", "--effort", "huge", "hi"), "invalid choice"),
        (("ask", "-m", "demo:echo", "   "), "empty prompt"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_one_line(home: Path, args: tuple[str, ...], needle: str) -> None:
    proc = chatlab(home, *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_invalid_toml_exits_2_with_one_line(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[providers.x\n")
    proc = chatlab(home, "ask", "-m", "demo:echo", "hi")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "config.toml" in line and "invalid TOML" in line


def test_keys_set_without_keychain_writes_nothing(home: Path) -> None:
    secret = "sk-test-" + "x" * 24
    proc = chatlab(
        home,
        "keys",
        "set",
        "openai",
        stdin=secret + "\n",
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    )
    assert proc.returncode == 1
    assert "no usable OS keychain" in proc.stderr and "OPENAI_API_KEY" in proc.stderr
    assert secret not in proc.stdout + proc.stderr
    files = [p for p in home.rglob("*") if p.is_file()] if home.exists() else []
    assert not any(secret.encode() in p.read_bytes() for p in files)


def test_env_key_never_reaches_the_output(home: Path, tmp_path: Path) -> None:
    secret = "sk-live-" + "k" * 30
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[providers.demo]\napi_key_env = "DEMO_KEY"\nneeds_key = true\n')
    proc = chatlab(home, "ask", "-m", "demo:demo-fast@tps=0", "--json", "hi", env={"DEMO_KEY": secret})
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stdout and secret not in proc.stderr
    keys = chatlab(home, "keys", "list", env={"DEMO_KEY": secret})
    assert "env:DEMO_KEY" in keys.stdout and secret not in keys.stdout


def test_providers_lists_presets(home: Path) -> None:
    proc = chatlab(home, "providers")
    assert proc.returncode == 0
    for name in ("openai", "anthropic", "openrouter", "deepseek", "ollama", "demo"):
        assert f"\n{name} " in "\n" + proc.stdout


def test_serve_demo_speaks_to_the_real_sdk(home: Path) -> None:
    import re

    import openai

    # Port 0: the server takes a free port and its banner says which (a port found free
    # here first could be taken by another test before the server binds it).
    proc = subprocess.Popen(
        [PYTHON, "-m", "chatlab", "serve-demo", "--port", "0"],
        env=subprocess_env(home),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/v1", banner)
        assert found is not None and int(found.group(1)) > 0 and "demo-reasoner" in banner
        port = int(found.group(1))
        client = openai.OpenAI(api_key="x", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
        assert "demo-fast" in {m.id for m in client.models.list()}
        stream = client.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "ping"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "echo (turn 1): ping"
        client.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_the_window_without_a_display_is_one_line_not_a_qt_abort(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in subprocess_env(tmp_path).items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    out = subprocess.run([PYTHON, "-m", "chatlab"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("chatlab: no display: the window needs a desktop session")
    assert out.stderr.count("\n") == 1
