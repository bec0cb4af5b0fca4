"""The keyed prompts of the shipped demo suite, answered right or wrong by the demo models.

Each :class:`Keyed` prompt is one of ``resources/suites/demo.toml``'s prompts with an
answer key: its text, a right answer (that passes the key), a wrong one (that fails it,
through a slip a model could plausibly make) and the step-by-step thinking that leads to
each. The thinking is a list of paragraphs, so a model that reasons less can show less
of it (:func:`thinking`). Which answer a model gives, and how often, is decided in
:mod:`chatlab.demo.scripts` (``RATES``). A request is matched to a keyed prompt by its
last user message, compared with whitespace collapsed (:func:`find`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keyed:
    id: str  # the prompt's id in demo.toml
    prompt: str
    right: str
    wrong: str
    think_right: tuple[str, ...]
    think_wrong: tuple[str, ...]


KEYED: tuple[Keyed, ...] = (
    Keyed(
        "dice",
        "Two fair dice are rolled. What is the probability that the sum is 7, given that at "
        "least one die shows a 3? Give it as a decimal to four places.",
        right=(
            "Of the 36 equally likely rolls, 11 show at least one 3 (six with a 3 on the first die, "
            "six with a 3 on the second, and the double 3 counted once). Two of those add up to 7: "
            "(3, 4) and (4, 3).\n\nSo the probability is 2/11 ≈ **0.1818**."
        ),
        wrong=(
            "A sum of 7 comes up in 6 of the 36 rolls, and a die showing 3 doesn't change that: "
            "the other die just has to show a 4.\n\nSo the probability is 1/6 ≈ **0.1667**."
        ),
        think_right=(
            "The condition changes the sample space: only the rolls where at least one die shows a 3 count.",
            "Rolls with a 3 on the first die: 6. Rolls with a 3 on the second die: 6. The roll (3, 3) "
            "is in both lists, so 6 + 6 - 1 = 11 rolls meet the condition.",
            "Which of those add up to 7? The other die must show a 4: (3, 4) and (4, 3). That is 2 "
            "rolls; (3, 3) adds up to 6, so it doesn't count.",
            "Check by listing them: (3,1) (3,2) (3,3) (3,4) (3,5) (3,6) (1,3) (2,3) (4,3) (5,3) "
            "(6,3). Eleven rolls, and exactly two of them add up to 7.",
            "So P = 2/11. As a decimal, 2 / 11 = 0.181818..., which is 0.1818 to four places.",
        ),
        think_wrong=(
            "Two dice add up to 7 in 6 of the 36 rolls: (1,6) (2,5) (3,4) (4,3) (5,2) (6,1). That is 1/6.",
            "Knowing that one die shows a 3 shouldn't matter much: for a 3 to be part of a 7, the other "
            "die has to show a 4, and that happens with probability 1/6.",
            "Both ways of looking at it give 1/6, so the condition doesn't change the answer.",
            "As a decimal, 1 / 6 = 0.16666..., which is 0.1667 to four places.",
        ),
    ),
    Keyed(
        "clock",
        "At 3:40, what is the angle between the hour and minute hands of a clock? "
        "(A) 120° (B) 130° (C) 140° (D) 150°. Answer with the letter.",
        right=(
            "The minute hand is at 40 × 6° = 240°. The hour hand has moved on from the 3 by then: "
            "3 × 30° + 40 × 0.5° = 110°. The angle between them is 240° − 110° = 130°.\n\n**Answer: B**"
        ),
        wrong=(
            "The minute hand points at the 8, which is 240°, and the hour hand points at the 3, "
            "which is 90°. The angle between them is 240° − 90° = 150°.\n\n**Answer: D**"
        ),
        think_right=(
            "The minute hand moves 6° a minute, so at 40 minutes past it is 240° round from the 12.",
            "The hour hand moves 30° an hour, and also 0.5° a minute. At 3:40 it is at "
            "3 × 30 + 40 × 0.5 = 90 + 20 = 110°, two thirds of the way from the 3 to the 4.",
            "The difference is 240 - 110 = 130°. That is under 180°, so it is the smaller angle "
            "between the hands.",
            "Check with the formula |30h - 5.5m| = |90 - 220| = 130°. It agrees.",
            "130° is option B.",
        ),
        think_wrong=(
            "At 40 minutes past, the minute hand points at the 8: 8 × 30° = 240°.",
            "The hour hand points at the 3: 3 × 30° = 90°.",
            "The difference is 240 - 90 = 150°, which is under 180°, so that is the angle between them.",
            "150° is option D.",
        ),
    ),
    Keyed(
        "heights",
        "Alice is taller than Bob. Bob is taller than Carol. Dana is shorter than Carol. "
        "Who is the second shortest? Give the name alone on the last line.",
        right=(
            "From tallest to shortest: Alice, Bob, Carol, Dana. Dana is the shortest, so the second "
            "shortest is the next one up.\n\n**Carol**"
        ),
        wrong=(
            "From tallest to shortest: Alice, Bob, Carol, Dana. The second in that order is Bob.\n\n**Bob**"
        ),
        think_right=(
            "Turn the statements into one order. Alice is above Bob and Bob is above Carol, "
            "so Alice > Bob > Carol.",
            "Dana is shorter than Carol, so Dana goes below her: Alice > Bob > Carol > Dana.",
            "Is anything left open? Each person is placed next to someone already placed, so the "
            "order is complete and there are no ties.",
            "The question asks from the short end. The shortest is Dana; the second shortest is the "
            "next one up, Carol.",
        ),
        think_wrong=(
            "Order them: Alice > Bob > Carol, and Dana is below Carol, so Alice, Bob, Carol, Dana.",
            "The second one in that list is Bob.",
            "So the name to give is Bob.",
        ),
    ),
    Keyed(
        "reverse",
        "Write a Python function reverse_words(sentence) that returns the sentence with its words in "
        'reverse order, so that "the cat sat" becomes "sat cat the".',
        right=(
            "Split on whitespace, reverse the list of words, and join them with single spaces:\n\n"
            "```python\n"
            "def reverse_words(sentence: str) -> str:\n"
            '    """The words of ``sentence`` in reverse order."""\n'
            '    return " ".join(reversed(sentence.split()))\n'
            "```\n\n"
            '`reverse_words("the cat sat")` returns `"sat cat the"`.'
        ),
        wrong=(
            "Slicing with a step of -1 reverses a string in one step:\n\n"
            "```python\n"
            "def reverse_words(sentence: str) -> str:\n"
            '    """The sentence, reversed."""\n'
            "    return sentence[::-1]\n"
            "```"
        ),
        think_right=(
            "The words must come out in reverse order, but each word keeps its letters: "
            '"the cat sat" becomes "sat cat the", not "tas tac eht".',
            "So work on a list of words: sentence.split() splits on any run of whitespace and drops "
            "the empty pieces, which also handles double spaces.",
            'reversed() over that list, then " ".join(...) puts one space between the words.',
            'Check: "the cat sat".split() is ["the", "cat", "sat"]; reversed gives sat, cat, the; '
            'joined: "sat cat the". An empty string gives an empty list and "" back.',
        ),
        think_wrong=(
            "Reversing in Python is easiest with a slice: s[::-1].",
            "A sentence is a string, so sentence[::-1] reverses it.",
            "That is a one-line function.",
        ),
    ),
    Keyed(
        "mean-bug",
        "Find the bug: def mean(xs): return sum(xs) / len(xs). What happens on an empty list, "
        "and how would you fix it?",
        right=(
            "On an empty list `len(xs)` is 0, so the division raises `ZeroDivisionError`. The mean of "
            "no numbers is undefined, so say so with a clear error:\n\n"
            "```python\n"
            "def mean(xs):\n"
            "    if not xs:\n"
            '        raise ValueError("mean() of an empty list")\n'
            "    return sum(xs) / len(xs)\n"
            "```"
        ),
        wrong=(
            "Nothing crashes: `sum([])` is 0, so on an empty list the function returns 0, which is a "
            "sensible mean for no numbers. A comment makes that clear:\n\n"
            "```python\n"
            "def mean(xs):\n"
            "    # an empty list gives 0\n"
            "    return sum(xs) / len(xs)\n"
            "```"
        ),
        think_right=(
            "On an empty list, sum([]) is 0 and len([]) is 0, so the expression is 0 / 0.",
            "In Python, / by zero raises ZeroDivisionError, even 0 / 0.",
            "What should the fix be? The mean of nothing is undefined, so raising a clear ValueError "
            "is the honest choice; statistics.mean raises an error too.",
            "So guard with `if not xs:` and raise, then divide as before.",
        ),
        think_wrong=(
            "On an empty list, sum([]) is 0, so the top of the fraction is 0.",
            "0 divided by anything is 0, so an empty list gives a mean of 0.",
            "That seems reasonable; it only needs a comment.",
        ),
    ),
)

_BY_TEXT = {" ".join(k.prompt.split()): (i, k) for i, k in enumerate(KEYED)}


def find(prompt: str) -> tuple[int, Keyed] | None:
    """The keyed prompt (with its place in :data:`KEYED`) that ``prompt`` asks, or None."""
    return _BY_TEXT.get(" ".join(prompt.split()))


def thinking(paragraphs: tuple[str, ...], level: str = "high") -> str:
    """The thinking at ``level``: ``low`` shows the first and the last paragraph,
    ``medium`` the first two and the last, ``high`` all of it."""
    if level == "low" and len(paragraphs) > 2:
        paragraphs = (paragraphs[0], paragraphs[-1])
    elif level == "medium" and len(paragraphs) > 3:
        paragraphs = (*paragraphs[:2], paragraphs[-1])
    return "\n\n".join(paragraphs)
