"""The answer keys of the shipped suites grade answers as a person would: for every keyed
prompt of ``reasoning-vs-plain.toml``, answers written the ways real models write them
(plain, Markdown, LaTeX, with an explanation around the result) pass, and the usual
wrong answers fail. Every math and code prompt there has a key, or is named here as one
a person checks."""

from __future__ import annotations

import pytest

from chatlab.core.studies.answers import grade
from chatlab.core.studies.suites import Prompt, load_suite, shipped_suites

UNKEYED = {"sum-odd", "regex-email", "readme-intro"}  # a proof, an explanation, prose

RIGHT: dict[str, list[str]] = {
    "bat-ball": [
        "The ball costs **$0.05**.",
        "Let the ball be x: x + (x + 1.00) = 1.10, so x = 0.05. The ball costs 5 cents and the bat $1.05.",
        "The intuitive answer, $0.10, is wrong.\n\n$$\\boxed{\\$0.05}$$",
        "Five cents.",
    ],
    "birthday": [
        "**23 people.** With 23, the chance is about 50.7 %; with 22 it is about 47.6 %.",
        "You need $n = 23$: $1 - \\prod_{k=0}^{22} (365 - k)/365 \\approx 0.507$.",
    ],
    "clock-angle": [
        "At 3:40 the minute hand is at 240° and the hour hand at 110°, so the angle is **130°** "
        "(the reflex angle is 230°).",
        "The angle is 130 degrees.",
        "$|30 \\cdot 3 - 5.5 \\cdot 40| = 130^\\circ$",
        "$\\boxed{130^{\\circ}}$",
    ],
    "dice-seven": [
        "11 outcomes have at least one 3; two of them, (3,4) and (4,3), sum to 7. **P = 2/11 ≈ 0.18.**",
        "$$P = \\frac{2}{11} \\approx 0.1818$$",
        "About 18.2 %.",
    ],
    "reverse-words": [
        "```python\ndef reverse_words(sentence: str) -> str:\n"
        '    return " ".join(reversed(sentence.split()))\n```',
        '```python\ndef reverse_words(s):\n    return " ".join(s.split(" ")[::-1])\n```',
        "```python\ndef reverse_words(s):\n    words = s.split()\n    words.reverse()\n"
        '    return " ".join(words)\n```',
    ],
    "lru-cache": [
        "```python\nfrom collections import OrderedDict\n\n\nclass LRUCache:\n"
        "    def __init__(self, capacity: int) -> None:\n"
        "        self.capacity = capacity\n        self.data: OrderedDict[int, int] = OrderedDict()\n\n"
        "    def get(self, key: int) -> int:\n        if key not in self.data:\n            return -1\n"
        "        self.data.move_to_end(key)\n        return self.data[key]\n\n"
        "    def put(self, key: int, value: int) -> None:\n        self.data[key] = value\n"
        "        self.data.move_to_end(key)\n        if len(self.data) > self.capacity:\n"
        "            self.data.popitem(last=False)\n```\n\nNo functools.lru_cache needed.",
    ],
    "sql-top3": [
        "```sql\nSELECT name, department, salary\nFROM (\n  SELECT name, department, salary,\n"
        "         ROW_NUMBER() OVER (PARTITION BY department ORDER BY salary DESC) AS rn\n"
        "  FROM employees\n) ranked\nWHERE rn <= 3;\n```",
        "Use DENSE_RANK() OVER (PARTITION BY e.department ORDER BY e.salary DESC) to keep ties.",
    ],
    "bug-hunt": [
        "On an empty list `len(xs)` is 0, so it raises **ZeroDivisionError**. Fix: "
        "`if not xs: raise ValueError('empty')`.",
    ],
}

WRONG: dict[str, list[str]] = {
    "bat-ball": ["The ball costs **$0.10**.", "10 cents; the bat is $1.00 and the total is $1.10."],
    "birthday": ["You need 183 people, half of 365.", "**253** people."],
    "clock-angle": ["The angle is **150°**: the minute hand at 240°, the hour hand at 90°.", "120 degrees."],
    "dice-seven": ["The probability is 1/6 ≈ 0.1667.", "2/12 = 1/6, about 16.7 %."],
    "reverse-words": [
        "```python\ndef reverse_words(sentence):\n    return sentence[::-1]\n```",
    ],
    "lru-cache": [
        "```python\nfrom functools import lru_cache\n\n@lru_cache(maxsize=128)\ndef get(key): ...\n```",
        "```python\nimport functools\n\nclass LRU:\n"
        "    def get(self, k): ...\n    def put(self, k, v): ...\n```",
    ],
    "sql-top3": [
        "```sql\nSELECT name, department, salary FROM employees ORDER BY salary DESC LIMIT 3;\n```",
        "ROW_NUMBER() OVER (ORDER BY salary DESC) and keep rn <= 3.",
    ],
    "bug-hunt": ["It returns 0, since sum([]) is 0.", "It raises an IndexError."],
}


def keyed(name: str) -> dict[str, Prompt]:
    path = next(p for p in shipped_suites() if p.name == name)
    return {p.id: p for p in load_suite(path).prompts if p.answer is not None}


def test_every_math_and_code_prompt_has_a_key_or_is_checked_by_a_person() -> None:
    path = next(p for p in shipped_suites() if p.name == "reasoning-vs-plain.toml")
    prompts = load_suite(path).prompts
    technical = {p.id for p in prompts if {"math", "code"} & set(p.tags)}
    assert set(keyed("reasoning-vs-plain.toml")) == technical - UNKEYED == set(RIGHT) == set(WRONG)
    assert all(p.verifiable for p in prompts if p.answer is not None)


@pytest.mark.parametrize("prompt_id", sorted(RIGHT))
def test_the_keys_pass_right_answers_and_fail_wrong_ones(prompt_id: str) -> None:
    key = keyed("reasoning-vs-plain.toml")[prompt_id].answer
    assert key is not None
    for answer in RIGHT[prompt_id]:
        assert grade(key, answer).correct, (answer, grade(key, answer).detail)
    for answer in WRONG[prompt_id]:
        assert not grade(key, answer).correct, (answer, grade(key, answer).detail)
