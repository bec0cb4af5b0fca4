"""Which kind of contender a lane is, for the prompted-reasoning control: a trained
reasoner (the provider reported reasoning), a plain model asked to think first, or plain.
The function lives in ``chatlab.core.data.kinds`` (the reveals read it too) and is
offered to the analysis as ``chatlab.core.analysis.votes.contender_kind``."""

from __future__ import annotations

from chatlab.core.analysis.votes import contender_kind
from chatlab.core.data.events import ErrorKind, Usage
from chatlab.core.data.kinds import kind_words
from chatlab.core.data.model import ErrorInfo, Lane, LaneParams, Response, Status


def answer(
    text: str = "An answer.", reasoning: str = "", usage: Usage | None = None, status: Status = Status.OK
) -> Response:
    resp = Response("x", status=status, text_parts=[text] if text else [], usage=usage or Usage(10, 20))
    if reasoning:
        resp.reasoning_parts.append(reasoning)
        resp.reasoning_chars = len(reasoning)
    return resp


def failed() -> Response:
    return Response("x", status=Status.ERROR, error=ErrorInfo(ErrorKind.SERVER, "overloaded", 529))


PLAIN = Lane("openai", "gpt-4.1")
ASKED = Lane("openai", "gpt-4.1", LaneParams(think="prompted"))
REASONER = Lane("openai", "o4-mini", LaneParams(reasoning_effort="high"))


def test_a_reasoner_with_visible_reasoning_is_native() -> None:
    assert contender_kind(
        REASONER, [answer(reasoning="Let me see.", usage=Usage(10, 90, reasoning_tokens=70))]
    )
    assert contender_kind(REASONER, [answer(reasoning="Let me see.")]) == "native"
    # Anthropic without thinking_tokens: the count is chatlab's, the text is the provider's.
    estimated = Usage(10, 90, reasoning_tokens=70, reasoning_estimated=True)
    assert contender_kind(REASONER, [answer(reasoning="Hmm.", usage=estimated)]) == "native"


def test_a_reasoner_whose_reasoning_is_hidden_is_native_by_its_reported_tokens() -> None:
    hidden = answer(usage=Usage(10, 500, reasoning_tokens=412))
    assert hidden.hidden_reasoning and contender_kind(REASONER, [hidden]) == "native"


def test_a_reasoner_that_did_not_reason_on_one_answer_is_still_native_by_the_others() -> None:
    assert (
        contender_kind(REASONER, [answer(), failed(), answer(usage=Usage(5, 40, reasoning_tokens=8))])
        == "native"
    )


def test_a_prompted_lane_is_prompted_whether_or_not_its_model_thought() -> None:
    thought = Usage(10, 90, reasoning_tokens=30, reasoning_estimated=True)
    assert contender_kind(ASKED, [answer(reasoning="First, …", usage=thought)]) == "prompted"
    assert contender_kind(ASKED, [answer()]) == "prompted"  # the model ignored the instruction
    assert contender_kind(ASKED, []) == "prompted"
    # Asked to think on top of a reasoner's own reasoning: still the control's lane.
    assert (
        contender_kind(Lane("o", "o4-mini", LaneParams(think="prompted")), [answer(reasoning="r")])
        == "prompted"
    )


def test_a_plain_model_is_plain() -> None:
    assert contender_kind(PLAIN, [answer(), answer(usage=Usage(3, 4))]) == "plain"
    assert contender_kind(PLAIN, [failed(), failed()]) == "plain"  # errors only: nothing reported
    assert contender_kind(PLAIN, []) == "plain"


def test_chatlabs_own_estimates_do_not_make_a_reasoner() -> None:
    """A count chatlab made (no usage from the provider) is not the provider reporting."""
    guessed = Usage(10, 90, reasoning_tokens=30, estimated=True)
    assert contender_kind(PLAIN, [answer(usage=guessed), failed()]) == "plain"
    only_estimated = Usage(10, 90, reasoning_tokens=30, reasoning_estimated=True)
    assert contender_kind(PLAIN, [answer(usage=only_estimated)]) == "plain"


def test_the_reveal_words() -> None:
    assert [kind_words(k) for k in ("native", "prompted", "plain", "")] == [
        "trained reasoner",
        "asked to think",
        "plain",
        "",
    ]
