"""Every injected fault gives the right error kind, keeps the partial text, and leaves the
other lanes alone; over all four wire formats, with the real SDKs on loopback HTTP."""

from __future__ import annotations

import pytest

from chatlab.core.data.events import ErrorKind
from chatlab.core.data.model import Lane, Status
from chatlab.core.lab.orchestrator import Runner
from chatlab.demo.scripts import DEMO_SCRIPTS
from chatlab.demo.server import DemoServer
from tests.conftest import run_turn

FORMATS = ["chat", "responses", "claude", "gemini"]
ANSWER = DEMO_SCRIPTS["demo-fast"].answer

CASES = [
    # fault, expected kind, expected status, partial text expected
    ("401", ErrorKind.AUTH, Status.ERROR, False),
    ("429", ErrorKind.RATE_LIMIT, Status.ERROR, False),
    ("500", ErrorKind.SERVER, Status.ERROR, False),
    ("529", ErrorKind.OVERLOADED, Status.ERROR, False),
    ("drop", ErrorKind.NETWORK, Status.INTERRUPTED, True),
    ("error", ErrorKind.OVERLOADED, Status.ERROR, True),
    ("malformed", ErrorKind.PROTOCOL, Status.ERROR, True),
    ("stall", ErrorKind.TIMEOUT, Status.INTERRUPTED, True),
    ("truncate", ErrorKind.NETWORK, Status.INTERRUPTED, True),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("fault,kind,status,partial", CASES, ids=[c[0] for c in CASES])
def test_fault_stays_in_its_lane(
    runner: Runner, fmt: str, fault: str, kind: ErrorKind, status: Status, partial: bool
) -> None:
    bad = Lane(fmt, f"demo-fast@tps=0,fault={fault},after=6,stall_s=20")
    good = Lane(fmt, "demo-reasoner@tps=0")
    other_format = Lane("chat" if fmt != "chat" else "claude", "demo-fast@tps=0")
    _, turn = run_turn(runner, [bad, good, other_format], idle_timeout_s=1.0)
    r = turn.responses[bad.id]
    assert r.status is status, r.error
    assert r.error is not None and r.error.kind is kind, r.error
    assert r.error.message
    if partial:
        assert r.text and ANSWER.startswith(r.text), r.text
        assert r.usage.estimated and r.usage.output_tokens > 0
    else:
        assert r.text == ""
    if fault == "429":
        assert r.error.retry_after_s == 7 and r.error.status_code == 429
    if fault == "401":
        assert r.error.status_code == 401
    for lane in (good, other_format):
        ok = turn.responses[lane.id]
        assert ok.status is Status.OK and ok.error is None
        assert not ok.usage.estimated and ok.usage.output_tokens > 0


@pytest.mark.parametrize("fault,kind", [("failed", ErrorKind.SERVER), ("incomplete", ErrorKind.BAD_REQUEST)])
def test_responses_failed_and_incomplete_keep_text(runner: Runner, fault: str, kind: ErrorKind) -> None:
    bad = Lane("responses", f"demo-fast@tps=0,fault={fault},after=5")
    _, turn = run_turn(runner, [bad])
    r = turn.responses[bad.id]
    assert r.status is Status.ERROR and r.error is not None and r.error.kind is kind
    assert r.text and ANSWER.startswith(r.text)
    if fault == "incomplete":  # billed usage still arrives with response.incomplete
        assert not r.usage.estimated and r.usage.output_tokens == 5


def test_unknown_model_is_not_found(runner: Runner) -> None:
    lanes = [Lane(f, "no-such-model") for f in FORMATS]
    _, turn = run_turn(runner, lanes)
    for lane in lanes:
        r = turn.responses[lane.id]
        assert r.status is Status.ERROR and r.error is not None
        assert r.error.kind is ErrorKind.NOT_FOUND and "no-such-model" in r.error.message


def test_wrong_key_is_auth(server: DemoServer, runner: Runner) -> None:
    server.api_key = "the-right-key"
    lanes = [Lane(f, "demo-fast@tps=0") for f in FORMATS]
    _, turn = run_turn(runner, lanes)
    assert {turn.responses[lane.id].error.kind for lane in lanes} == {ErrorKind.AUTH}  # type: ignore[union-attr]


def test_connection_refused_is_network(runner: Runner) -> None:
    import socket

    from chatlab.core.settings.apikeys import KeyStore
    from chatlab.core.settings.config import parse_config
    from chatlab.providers import make_adapter

    # The port stays bound, never listening, so no other test (pytest -n) can take it meanwhile.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        config = parse_config(
            {
                "providers": {
                    "dead": {
                        "kind": "openai-chat",
                        "base_url": f"http://127.0.0.1:{port}/v1",
                        "needs_key": False,
                    }
                }
            }
        )
        _, turn = run_turn(Runner(config, KeyStore(), make_adapter), [Lane("dead", "m")])
    r = next(iter(turn.responses.values()))
    # Nothing started, so nothing was interrupted: an error that says where it tried.
    assert r.status is Status.ERROR and r.error is not None and r.error.kind is ErrorKind.NETWORK
    assert r.error.message == (
        f"could not connect to http://127.0.0.1:{port}/v1 (connection refused) — gave up after 2 retries"
    )
    assert len(r.retries) == 2  # the default: two more tries, with backoff
    assert r.cost_usd == 0 and r.cost_source == "refused" and not r.usage.estimated


def test_provider_400_is_a_clear_lane_error(runner: Runner) -> None:
    lanes = [Lane(f, "demo-fast@colour=blue") for f in FORMATS]  # the server rejects the option
    _, turn = run_turn(runner, lanes)
    for lane in lanes:
        r = turn.responses[lane.id]
        assert r.status is Status.ERROR and r.error is not None
        assert r.error.kind is ErrorKind.BAD_REQUEST and r.error.status_code == 400
        assert "unknown script option 'colour'" in r.error.message
