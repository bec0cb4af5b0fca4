"""Rubrics: the shipped ones load, the user's win by name, a bad file is refused with
one line naming the place, and the criterion scores make the choice the rubric says."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlab.core.judging import rubrics
from chatlab.core.settings.config import ConfigError

GOOD = """
name = "mine"
instruction = "Judge them."
[[criteria]]
name = "wit"
weight = 2
description = "Is it funny?"
anchors = { "0" = "no", "10" = "very" }
[[criteria]]
name = "truth"
description = "Is it right?"
anchors = { "5" = "half" }
"""


def test_the_shipped_rubrics_load_with_their_criteria() -> None:
    for name in ("writing", "advice", "general"):
        rubric = rubrics.find_rubric(name)
        assert rubric.name == name and rubric.instruction and rubric.criteria
        assert all(c.anchors and c.weight > 0 for c in rubric.criteria)
    assert rubrics.find_rubric("general").choice == "judge"
    assert rubrics.find_rubric("advice").criterion_names == ("helpfulness", "soundness", "balance", "clarity")


def test_the_users_rubric_wins_over_a_shipped_one_of_its_name(home: Path) -> None:
    folder = rubrics.user_dir()
    folder.mkdir(parents=True)
    (folder / "writing.toml").write_text(GOOD.replace('"mine"', '"writing"'), encoding="utf-8")
    mine = rubrics.find_rubric("writing")
    assert mine.criterion_names == ("wit", "truth") and mine.criteria[0].weight == 2.0
    with pytest.raises(ConfigError, match=r"no rubric 'nope' \(known: advice, general, writing\)"):
        rubrics.find_rubric("nope")


@pytest.mark.parametrize(
    "change, message",
    [
        (("weight = 2", "weight = -1"), "mine.toml: criteria[0].weight must be a positive number"),
        (("weight = 2", "weight = true"), "criteria[0].weight must be a number"),
        (('name = "wit"', 'name = "Wit!"'), "criteria[0].name must be 1–40 lower-case"),
        (('name = "truth"', 'name = "wit"'), "criteria[1].name 'wit' is given twice"),
        (('"5" = "half"', '"11" = "too much"'), "criteria[1].anchors keys are scores 0 to 10"),
        (('"5" = "half"', '"٥" = "arabic five"'), "criteria[1].anchors keys are scores 0 to 10"),
        (
            ('instruction = "Judge them."', 'instruction = ""'),
            "mine.toml: instruction must be a non-empty string",
        ),
        (('instruction = "Judge them."', 'instruction = "a\\u0000b"'), "instruction is not valid Unicode"),
        (('name = "mine"', 'name = "other"'), "name 'other' must match the file's name"),
        (
            ('[[criteria]]\nname = "wit"', 'colour = "red"\n[[criteria]]\nname = "wit"'),
            "unknown key 'colour'",
        ),
        (
            ('description = "Is it funny?"', 'description = "Is it funny?"\nscale = 5'),
            "criteria[0] has unknown key",
        ),
    ],
)
def test_a_bad_rubric_is_refused_with_one_line_naming_the_place(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        rubrics.load_rubric(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_file_that_isnt_a_rubric_is_refused_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    for body, message in [
        (b"\xff\xfe", "not UTF-8"),
        (b"name = ", "not valid TOML"),
        (b"x" * (rubrics.MAX_FILE + 1), "over 256 KB"),
        (b'name = "mine"\ninstruction = "x"\n' + b"[[criteria]]\nname = 'c'\n" * 13, "at most 12"),
    ]:
        path.write_bytes(body)
        with pytest.raises(ConfigError, match=message):
            rubrics.load_rubric(path)


def test_weighted_scores_choose_and_a_near_draw_is_a_tie(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    rubric = rubrics.load_rubric(path)  # wit weighs 2, truth 1
    scores = {"A": {"wit": 10, "truth": 4}, "B": {"wit": 5, "truth": 10}}
    assert rubric.choose(scores, "B") == "A"  # A: (20 + 4) / 3 = 8.0; B: (10 + 10) / 3 = 6.67
    near = {"A": {"wit": 6, "truth": 6}, "B": {"wit": 6, "truth": 7}}  # 6.0 vs 6.33: within 0.5
    assert rubric.choose(near, "A") == "tie"
    general = rubrics.find_rubric("general")
    assert general.choose({"A": {"quality": 1, "clarity": 1}, "B": {"quality": 9, "clarity": 9}}, "A") == "A"
