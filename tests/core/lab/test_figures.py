"""One record of a response's figures: what the lane status, the CLI's live line and its
summary all show, from live and reopened responses alike."""

from __future__ import annotations

from chatlab.core.data.events import Done, TextDelta, Usage, UsageReport
from chatlab.core.data.export import document, parse_document
from chatlab.core.data.model import Lane, Response, Status
from chatlab.core.lab.figures import Figures
from tests.conftest import run_turn
from tests.fakes import ScriptedAdapter, scripted_runner


def test_figures_of_a_running_response_are_marked_as_estimates() -> None:
    resp = Response(lane_id="x", status=Status.RUNNING)
    resp.text_parts.append("a" * 40)
    resp.text_chars = 40
    figures = Figures.of(resp)
    assert figures.usage.estimated and figures.usage.output_tokens == 10
    assert figures.parts() == ["answering", "ttft –", "in ≈0 · out ≈10", "cost …"]


def test_a_reopened_response_has_the_same_figures() -> None:
    adapter = ScriptedAdapter().enqueue(
        TextDelta("hello there"), UsageReport(Usage(input_tokens=5, output_tokens=3)), Done("stop")
    )
    session, turn = run_turn(scripted_runner(adapter), [Lane("fake", "m")])
    [live] = turn.responses.values()
    [reopened] = parse_document(document([session]))[0].turns[0].responses.values()
    assert Figures.of(live).line(duration=True) == Figures.of(reopened).line(duration=True)
    assert Figures.of(reopened).ttft_s is not None and "ttft –" not in Figures.of(reopened).line()
    assert Figures.of(live, lane_total=0.5).parts()[-1] == "lane $0.50"


def test_a_session_total_with_unpriced_responses_never_reads_as_free() -> None:
    """The total once read "Session cost $0 · 1 response with no price", as if free (issue 24)."""
    from chatlab.core.lab.totals import CostTotal

    assert CostTotal(0.0031, False, 1, 2).words() == "$0.0031 + 1 unpriced response"
    assert CostTotal(0.0, False, 2, 0).words() == "unknown (2 responses with no price)"
    assert CostTotal(0.0, False, 0, 3).words() == "$0"  # priced, and free
    assert CostTotal(0.00002, True, 0, 1).words() == "< $0.0001"  # no "≈<$"
    assert CostTotal(0.5, True, 3, 1).words() == "≈$0.50 + 3 unpriced responses"
