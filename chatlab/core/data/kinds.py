"""What kind of contender a lane is, for the prompted-reasoning control (issue 21).

``native``: a trained reasoner, one whose provider reported reasoning for any of its
answers (reasoning text it returned, or reasoning tokens it counted itself, even with
the text hidden). ``prompted``: a lane with ``think = "prompted"``, a model asked by
chatlab's instruction to think first, whether or not it did. ``plain``: neither, as far
as its answers show (a lane whose every request failed shows nothing, so it is plain).
Shown only once names are: the kind says which model is which.
"""

from __future__ import annotations

from collections.abc import Iterable

from chatlab.core.data.model import Lane, Response

NATIVE, PROMPTED, PLAIN = "native", "prompted", "plain"
KINDS = (NATIVE, PROMPTED, PLAIN)
# The reveal's words for each kind.
WORDS = {NATIVE: "trained reasoner", PROMPTED: "asked to think", PLAIN: "plain"}


def provider_reasoned(resp: Response) -> bool:
    """The provider reported reasoning for ``resp``: reasoning text (a lane that is not
    prompted has no other kind), or reasoning tokens it counted, not chatlab's estimate."""
    usage = resp.usage
    counted = usage.reasoning_tokens > 0 and not usage.estimated and not usage.reasoning_estimated
    return counted or resp.reasoning_chars > 0


def trained(lane: Lane, resp: Response) -> bool:
    """Did ``resp``'s reasoning come from the model itself (trained to reason), rather
    than from chatlab's instruction asking a plain model to think (``think =
    "prompted"``)? What the quiz on reasoning traces is judged against."""
    reasoned = resp.reasoning_chars > 0 or resp.usage.reasoning_tokens > 0
    return reasoned and lane.params.think != PROMPTED


def contender_kind(lane: Lane, responses: Iterable[Response]) -> str:
    """``"prompted"`` for a lane asked to think first; ``"native"`` when the provider
    reported reasoning for any of ``responses``; else ``"plain"``."""
    if lane.params.think == PROMPTED:
        return PROMPTED
    return NATIVE if any(provider_reasoned(r) for r in responses) else PLAIN


def kind_words(kind: str) -> str:
    """The reveal's word for ``kind`` ("trained reasoner", "asked to think", "plain");
    nothing for a kind not known."""
    return WORDS.get(kind, "")
