"""Grading a study's answers again by its answer keys (``chatlab study grade NAME``):
after a key was edited, or for answers from before grading existed.

The keys are the study's own (its suite snapshot), or those of a suite file given with
``--suite``, matched by prompt id: a prompt whose text differs in that file is refused,
since its key was written for another question. What changed is counted, prompt by
prompt, so a person sees what an edited key did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from chatlab.core.data.model import Response, Session, Turn
from chatlab.core.studies.answers import AnswerKey, grade_response
from chatlab.core.studies.suites import Suite


@dataclass
class Regrade:
    """What grading a study again did."""

    graded: int = 0  # answers with a key grade now
    correct: int = 0
    changed: int = 0  # answers whose grade is not what it was
    ungraded: int = 0  # answers of keyed prompts with no grade (they failed: an empty answer is wrong)
    keyed_prompts: int = 0
    changed_by_prompt: dict[str, int] = field(default_factory=dict)
    touched: list[tuple[Session, Turn, Response]] = field(default_factory=list)  # to save


class KeyMismatch(ValueError):
    """A suite whose keys can't be used for this study; the message says which prompt."""


def keys_of(suite: Suite) -> dict[str, AnswerKey | None]:
    return {p.id: p.answer for p in suite.prompts}


def keys_from(new: Suite, asked: Mapping[str, str]) -> dict[str, AnswerKey | None]:
    """``new``'s keys for the prompts the study asked (``asked``: prompt id -> text). A
    prompt of the study that ``new`` lacks keeps no key from it (left out); one whose text
    differs is refused."""
    out: dict[str, AnswerKey | None] = {}
    for prompt in new.prompts:
        text = asked.get(prompt.id)
        if text is None:
            continue
        if text != prompt.text:
            raise KeyMismatch(
                f"prompt {prompt.id!r} asks something else in this suite than in the study: "
                "its key would grade answers to another question"
            )
        out[prompt.id] = prompt.answer
    return out


def regrade(sessions: Sequence[Session], keys: Mapping[str, AnswerKey | None]) -> Regrade:
    """Grade every finished answer of ``sessions`` (a study's comparisons) by ``keys``
    (prompt id -> key; a prompt not in ``keys`` is left as it is)."""
    out = Regrade(keyed_prompts=sum(1 for k in keys.values() if k is not None))
    for session in sessions:
        if session.study is None or not session.turns or session.study.prompt_id not in keys:
            continue
        prompt_id = session.study.prompt_id
        key = keys[prompt_id]
        turn = session.turns[0]
        for resp in turn.responses.values():
            if grade_response(resp, key):
                out.changed += 1
                out.changed_by_prompt[prompt_id] = out.changed_by_prompt.get(prompt_id, 0) + 1
                out.touched.append((session, turn, resp))
            mark = resp.grade_by("key")
            if mark is not None:
                out.graded += 1
                out.correct += mark.correct
            elif key is not None:
                out.ungraded += 1
    return out
