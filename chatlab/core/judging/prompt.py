"""What a judge model is sent: the rubric's instruction, the prompt, and the answers
under neutral letters in one order — the same a blind human sees, and nothing more.

Never a lane's name, model, provider, cost, timing or token count: :func:`judge_messages`
takes only texts, so nothing else can reach it. Reasoning is shown only when the study
shows reasoning to its raters (``show_reasoning``), and then for every answer alike
("no reasoning shown" where an answer has none, as the blind queue says). The answer
format asked for, at the end of the user message, is the JSON of
:mod:`chatlab.core.judging.verdicts`: scores per letter and criterion, the choice, a reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from chatlab.core.judging.orders import letters
from chatlab.core.judging.rubrics import Rubric

NO_REASONING = "(no reasoning shown)"
# Ends the judge's user message, before the JSON it is to reply with (the letters and
# criteria of this comparison): last, where a model reads it just before it answers.
REPLY = "Reply with this JSON object only (numbers for the scores):"


@dataclass(frozen=True)
class Shown:
    """One answer as the judge sees it: its text and, when the study shows reasoning,
    its reasoning (empty: none)."""

    text: str
    reasoning: str = ""


def criteria_text(rubric: Rubric) -> str:
    """The rubric's criteria with their anchors, one block each."""
    blocks = []
    for c in rubric.criteria:
        anchors = "; ".join(f"{score} = {words}" for score, words in c.anchors)
        blocks.append(f"- {c.name}: {c.description} (0–10; {anchors})")
    return "\n".join(blocks)


def answer_format(rubric: Rubric, labels: Sequence[str]) -> str:
    """The JSON asked for, with the letters and criteria of this comparison."""
    example = {
        "scores": {letter: dict.fromkeys(rubric.criterion_names, 0) for letter in labels},
        "choice": f"one of {', '.join(labels)}, or tie",
        "reason": "one or two sentences",
    }
    return json.dumps(example, ensure_ascii=False, indent=2)


def judge_messages(
    rubric: Rubric, prompt: str, answers: Sequence[Shown], order: Sequence[int], show_reasoning: bool
) -> tuple[str, str]:
    """(system, user) for judging ``answers`` in ``order`` (answer indexes by place)."""
    labels = letters(len(order))
    if sorted(order) != list(range(len(answers))):
        raise ValueError("an order places every answer exactly once")
    system = f"{rubric.instruction}\n\nCriteria, each scored 0 to 10:\n{criteria_text(rubric)}"
    parts = [f"The request:\n<request>\n{prompt}\n</request>"]
    for letter, index in zip(labels, order, strict=True):
        answer = answers[index]
        block = f'<answer letter="{letter}">\n'
        if show_reasoning:
            block += f"<reasoning>\n{answer.reasoning or NO_REASONING}\n</reasoning>\n"
        block += f"{answer.text}\n</answer>"
        parts.append(f"Answer {letter}:\n{block}")
    parts.append(f"{REPLY}\n{answer_format(rubric, labels)}")
    return system, "\n\n".join(parts)
