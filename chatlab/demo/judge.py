"""demo-judge: a scripted judge model with known biases, so judging works offline and
tests can check that chatlab's measurements recover what was scripted.

It reads a judge request as chatlab writes it (:mod:`chatlab.core.judging.prompt`): the
answers in ``<answer letter="X">`` blocks and, at the end, the JSON to reply with (whose
``scores`` give the letters and criteria). Each answer has a hidden *quality* drawn from
a hash of its text, the same in every order: the "true" preference is the best of them.
Then:

- with probability :data:`POSITION_BIAS` it picks the first place, whatever is there (a
  draw seeded by the whole request: each order draws on its own);
- else it gives its view of the answers, the same in every order (draws seeded by the
  answers alone): the longest answer with probability :data:`LENGTH_BIAS` overall, else
  the truly best answer with probability :data:`AGREEMENT`, or another at random.

Answers with the same text are one view: when its view is a text two answers share, it
says "tie" (in every order but those that took the first place). Its scores agree with
its choice (8 for the chosen answer on every criterion, at most 6 for the rest; 7 for
each of a tie's answers), so a rubric that decides by weighted scores makes the same choice. A
request it can't read gets a plain sentence and no JSON: chatlab must store "no verdict".
"""

from __future__ import annotations

import hashlib
import json
import random
import re

POSITION_BIAS = 0.2
LENGTH_BIAS = 0.15
AGREEMENT = 0.8
_REPLY = "Reply with this JSON object only (numbers for the scores):"
_ANSWER = re.compile(r'<answer letter="([A-Z0-9])">\n(.*?)</answer>', re.DOTALL)
MAX_PROMPT = 2_000_000


def quality(text: str) -> float:
    """An answer's hidden quality in [0, 1): the same for the same text, in any order."""
    digest = hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _criteria(prompt: str) -> list[str]:
    at = prompt.rfind(_REPLY)
    if at < 0:
        return []
    start = prompt.find("{", at)
    try:
        example, _ = json.JSONDecoder().raw_decode(prompt, start)
        first = next(iter(example["scores"].values()))
        return [str(c) for c in first]
    except (ValueError, KeyError, StopIteration, AttributeError, TypeError):
        return []


def verdict(prompt: str) -> str:
    """The demo judge's reply to one judge request (its last user message)."""
    answers = _ANSWER.findall(prompt[:MAX_PROMPT])
    if len(answers) < 2 or _REPLY not in prompt:
        return "I can only judge a request with two or more lettered answers."
    letters = [letter for letter, _ in answers]
    texts = {letter: text for letter, text in answers}
    # The position draw is the order's own; the opinion (length, agreement, or another
    # answer) is the comparison's, whatever the order: a judge at temperature 0 holds one
    # view of the same answers, and only where they sit moves it.
    rng = random.Random(hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).digest())
    same = sorted(texts.values())
    view = random.Random(hashlib.sha256("\x00".join(same).encode("utf-8", "surrogatepass")).digest())
    best = max(letters, key=lambda x: quality(texts[x]))
    opinion = view.random()
    if rng.random() < POSITION_BIAS:
        choice, why = letters[0], "The first answer reads best."
    elif opinion < LENGTH_BIAS / (1 - POSITION_BIAS):
        longest = max(letters, key=lambda x: (len(texts[x]), quality(texts[x])))
        choice, why = longest, "The fullest answer is best."
    elif view.random() < AGREEMENT:
        choice, why = best, "This answer does what was asked best."
    else:
        others = sorted((x for x in letters if x != best), key=lambda x: quality(texts[x]))
        pick = others[int(view.random() * len(others))]
        choice, why = pick, "This answer has the edge."
    shared = ""
    if why != "The first answer reads best." and sum(texts[x] == texts[choice] for x in letters) > 1:
        shared = texts[choice]  # its view is a text two answers share
        choice, why = "tie", "The best answers are the same."
    criteria = _criteria(prompt)

    def score(letter: str) -> int:
        if letter == choice:
            return 8
        if texts[letter] == shared:
            return 7
        return 4 + round(2 * quality(texts[letter]))

    scores = {letter: dict.fromkeys(criteria, score(letter)) for letter in letters}
    return json.dumps({"scores": scores, "choice": choice, "reason": why})
