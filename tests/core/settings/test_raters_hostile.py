"""Adversarial tests of rater ids, rating packs' votes, sighted votes and the config's
``[rater]`` (round adv19b). Each test is a confirmed defect: it fails on this snapshot
and says in its docstring what was expected and what happens instead."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from chatlab.core.settings.raters import installation
from chatlab.store.db import Store, default_path
from tests.conftest import PYTHON, ROOT, subprocess_env
from tests.core.settings.test_raters import (
    every_rater,
    export_pack,
    home_of,
    owner_study,
    rate_as_me,
    rate_pack_elsewhere,
    run,
)

pytestmark = pytest.mark.hostile


def _owner_with_bos_votes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str, Path]:
    """The owner's study, a pack rated by bo elsewhere: (owner's home, bo's id, bo's votes file).
    The owner has not voted on anything; CHATLAB_HOME is the owner's on return."""
    owner_home = tmp_path / "owner"
    home_of(monkeypatch, owner_home)
    owner_study(capsys, tmp_path)
    pack = export_pack(capsys, tmp_path / "pack.json", "--for", "bo")
    bo, votes = rate_pack_elsewhere(capsys, monkeypatch, tmp_path / "bo", pack, "bo")
    home_of(monkeypatch, owner_home)
    return owner_home, bo, votes


def _forge(votes: Path, out: Path, **fields: object) -> Path:
    """``votes`` with every vote's and rating's fields set to ``fields``."""
    doc = json.loads(votes.read_text("utf-8"))
    for s in doc["sessions"]:
        for turn in s["turns"]:
            for v in turn["votes"]:
                v.update(fields)
            for r in turn["responses"]:
                for rating in r["ratings"]:
                    rating.update({k: val for k, val in fields.items() if k in ("rater", "rater_id")})
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


# -- 1. un-blinding -----------------------------------------------------------------------------


def test_plain_study_export_names_the_models_of_comparisons_the_owner_has_not_voted_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: once a remote rater's votes are merged, ``chatlab export --study pack``
    (no --unblind) still leaves out the blind comparisons the *owner* has not voted on
    (as it does before any vote), or marks them sighted; the owner's later queue votes on
    them are then not counted as blind.
    Actual: ``export.masked`` asks whether *anyone* voted (``turn.vote`` is the first
    rater's vote), so bo's merged votes un-mask every comparison: the file names every
    model of 4 comparisons the owner never voted on, nothing is marked sighted, and the
    4 votes the owner casts afterwards, having read the names, count as blind in
    ``chatlab stats`` (sighted_left_out 0)."""
    _owner_home, _bo, votes = _owner_with_bos_votes(capsys, tmp_path, monkeypatch)
    code, _, err = run(capsys, "import", str(votes))
    assert code == 0, err
    names = tmp_path / "names.json"
    code, _, err = run(capsys, "export", "--study", "pack", "-o", str(names))
    text = names.read_text("utf-8")
    rate_as_me("ann", pick=0)  # the owner rates in the queue, after reading the file
    code, out, _ = run(capsys, "stats", "--json")
    report = json.loads(out)
    revealed = "demo-reasoner" in text and len(json.loads(text)["sessions"]) > 0
    assert not revealed or report["sighted_left_out"] == 4, (
        f"export named the models of {len(json.loads(text)['sessions'])} comparisons the owner had "
        f"not voted on; the owner's later votes counted blind: {report['votes']} votes, "
        f"{report['sighted_left_out']} sighted left out"
    )


# -- 2. a pack's votes under an id made from a name -------------------------------------------


def test_a_packs_votes_under_a_name_derived_id_are_credited_to_that_legacy_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: a rating pack's votes come from another chatlab, which always exports its
    installation's random id; a votes file for a pack whose rater_id is a derived
    ``"name:cy"`` id (the id of the legacy, name-only rater cy) is refused by its place
    (exit 2), as is the owner's id. Actual: it merges (exit 0): the pack made for bo is
    bound to ``name:cy`` and 4 votes and 4 ratings are credited to the legacy rater
    "cy" (``stats --rater cy`` counts them), whatever the pack's real rater was."""
    _owner_home, _bo, votes = _owner_with_bos_votes(capsys, tmp_path, monkeypatch)
    forged = _forge(votes, tmp_path / "forged.json", rater="bo", rater_id="name:cy")
    code, out, err = run(capsys, "import", str(forged))
    assert code == 2 and every_rater() == set(), (
        f"exit {code}: {out.strip() or err.strip()}; raters now {sorted(every_rater())}"
    )


# -- 3. hidden repeats made up ---------------------------------------------------------------


def test_a_packs_votes_can_add_repeat_votes_to_a_study_with_no_repeats(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: the study has no hidden repeats (its suite sets none, the pack says none),
    so a votes file with ``"repeat": true`` votes is refused by its place and writes
    nothing. Actual: it is merged (8 votes for 4 comparisons), and ``chatlab stats`` then
    publishes a test-retest figure the study never measured ("Hidden repeats: the same
    choice again 0 of 4 times", ``retest`` in --json)."""
    _owner_home, _bo, votes = _owner_with_bos_votes(capsys, tmp_path, monkeypatch)
    doc = json.loads(votes.read_text("utf-8"))
    for s in doc["sessions"]:
        turn = s["turns"][0]
        turn["votes"].append({**turn["votes"][0], "repeat": True, "choice": "all_bad"})
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc), encoding="utf-8")
    code, out, err = run(capsys, "import", str(forged))
    _, stats, _ = run(capsys, "stats", "--json")
    retest = json.loads(stats)["retest"]
    assert code == 2 and retest is None, f"exit {code}: {out.strip() or err.strip()}; retest {retest}"


# -- 4. two raters shown as one ----------------------------------------------------------------


def _three_carols(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A study with votes from three colleagues (a full export merged): two go by "carol",
    one calls themselves "carol (2)"; each votes for a different place."""
    owner_study(capsys, tmp_path)
    full = tmp_path / "full.json"
    code, _, err = run(capsys, "export", "--study", "pack", "--unblind", "-o", str(full))
    assert code == 0, err
    doc = json.loads(full.read_text("utf-8"))
    people = [("r" + "1" * 32, "carol"), ("r" + "2" * 32, "carol"), ("r" + "0" * 32, "carol (2)")]
    for s in doc["sessions"]:
        turn = s["turns"][0]
        lanes = [lane["id"] for lane in s["lanes"]]
        turn["votes"] = [
            {"rater": name, "rater_id": rid, "choice": lanes[k], "voted_at": "2025-01-01T00:00:00Z"}
            for k, (rid, name) in enumerate(people)
        ]
    forged = tmp_path / "colleagues.json"
    forged.write_text(json.dumps(doc), encoding="utf-8")
    code, out, err = run(capsys, "import", str(forged))
    assert code == 0 and "merged 12 votes" in out, err


def test_a_rater_named_carol_2_and_the_second_carol_are_shown_and_counted_as_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Expected: three different rater ids get three different labels ("carol",
    "carol (2)", and something else for the one who calls themselves "carol (2)"), so
    ``votes_per_rater`` has three entries of 4 votes. Actual: ``raters.labels`` gives two
    ids the same label "carol (2)"; ``votes_per_rater`` keys by label, so one rater's 4
    votes vanish from the report ({"carol": 4, "carol (2)": 4} for 3 raters)."""
    _three_carols(capsys, tmp_path)
    code, out, err = run(capsys, "stats", "--json")
    assert code == 0, err
    agreement = json.loads(out)["agreement"]
    assert agreement["raters"] == 3
    assert len(agreement["votes_per_rater"]) == 3, agreement["votes_per_rater"]


def test_stats_rater_carol_2_selects_two_different_people(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Expected: ``chatlab stats --rater "carol (2)"`` selects one rater (or is refused as
    ambiguous, exit 2). Actual: it selects two different rater ids that both carry the
    label "carol (2)" and reports their 8 votes as one rater's (filters.raters lists one
    name)."""
    _three_carols(capsys, tmp_path)
    code, out, _err = run(capsys, "stats", "--json", "--rater", "carol (2)")
    if code == 2:
        return
    report = json.loads(out)
    assert report["votes"] == 4, f"--rater 'carol (2)' counted {report['votes']} votes: {report['filters']}"


# -- 5. the rater id made twice at once --------------------------------------------------------


def test_two_chatlabs_making_the_rater_id_at_once_lose_one_of_them(home: Path) -> None:
    """Expected: the id is made once per installation: while one chatlab is making it,
    another waits, then reads the config again and takes the same id, so votes carry one
    id for ever. Before: ``raters.installation`` read the config, made an id and wrote
    it with no lock or re-check, so the last writer's id won and the other's votes
    carried an id nobody is. Here this test is the first chatlab: it holds the config's
    lock, sees the other process wait on it (in /proc/locks, not by sleeping), writes
    its id, lets go, and the other process must come back with that id."""
    import fcntl

    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text('rater = "ann"\n')
    mine = "r" + "5" * 32
    with open(home / "config.toml.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.Popen(
            [PYTHON, "-c", "from chatlab.core.settings.raters import installation; print(installation().id)"],
            env=subprocess_env(home),
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            waiting = False
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if any(
                    "->" in line and "FLOCK" in line for line in Path("/proc/locks").read_text().splitlines()
                ):
                    waiting = True
                    break
            assert waiting, "the other chatlab made its id without waiting for the lock"
            config.write_text(f'[rater]\nid = "{mine}"\nname = "ann"\n')
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        out, _ = proc.communicate(timeout=60)
    assert out.strip() == mine and 'id = "' + mine in config.read_text()


# -- 6. a config name too long to export ---------------------------------------------------------


def test_a_10000_character_config_name_makes_every_vote_unexportable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: ``[rater] name`` is cleaned like a name given with --rater (one line, at
    most 200 characters) or refused with the config's place; the rater's votes export.
    Actual: the 10,000-character name is used as is: every vote carries it, and
    ``chatlab export --votes --study pack`` exports 0 sessions ("rater: is too long
    (10,000 characters; at most 200)"), so the rater cannot send any vote back."""
    owner_home = tmp_path / "owner"
    home_of(monkeypatch, owner_home)
    owner_study(capsys, tmp_path)
    pack = export_pack(capsys, tmp_path / "pack.json")
    rater_home = tmp_path / "bo"
    rater_home.mkdir()
    (rater_home / "config.toml").write_text(f'[rater]\nid = "r{"a" * 32}"\nname = "{"x" * 10_000}"\n')
    home_of(monkeypatch, rater_home)
    assert run(capsys, "import", str(pack))[0] == 0
    store = Store(default_path())
    try:
        from chatlab.core.studies.rating import RatingQueue

        me = installation(store.claim_rater)
        [info] = store.studies()
        queue = RatingQueue(store.study_sessions(info.id), me.id, sink=store)
        while not queue.finished:
            queue.vote(0)
    finally:
        store.close()
    out = tmp_path / "votes.json"
    code, _, err = run(capsys, "export", "--votes", "--study", "pack", "-o", str(out))
    assert code == 0 and len(json.loads(out.read_text("utf-8"))["sessions"]) == 4, err[:300]


# -- 7. export --votes with stdin closed ---------------------------------------------------------


def test_export_votes_with_stdin_closed_does_not_crash(tmp_path: Path) -> None:
    """Expected: ``chatlab export --votes`` with interactive votes and no stdin at all (a
    cron job, ``<&-``) asks nothing and refuses with the one-line usage error (exit 2),
    as it does with stdin on /dev/null. Actual: ``sys.stdin`` is None, ``_confirm`` calls
    ``None.isatty()``: a Python traceback (AttributeError), exit 1."""
    home = tmp_path / "h"
    env = subprocess_env(home)
    ask = [PYTHON, "-m", "chatlab", "ask", "-m", "demo:demo-fast@tps=0", "-m", "demo:echo", "Hello?"]
    subprocess.run(ask, env=env, capture_output=True, check=True, cwd=ROOT)
    from chatlab.core.data.votes import Vote

    os.environ["CHATLAB_HOME"] = str(home)  # the autouse fixture restores it
    store = Store(default_path())
    try:
        session = store.load(store.ids()[0])
        store.vote(session.turns[0].id, Vote(session.lanes[0].id, rater="name:"))
    finally:
        store.close()
    script = 'exec "$0" -m chatlab export --votes -o "$1" <&-'
    proc = subprocess.run(
        ["sh", "-c", script, PYTHON, str(tmp_path / "v.json")],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "Traceback" not in proc.stderr and proc.returncode == 2, proc.stderr[-400:]


# -- 8. control characters in rater ids -------------------------------------------------------


@pytest.mark.parametrize("rater_id", ["r\x00abc", "r\nabc\x1b[31m", "name:\u202enna"])
def test_a_rater_id_with_control_characters_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rater_id: str
) -> None:
    """Expected: a rater id is an opaque key; one with NUL, a newline, an escape sequence
    or a bidi override is refused by its place (exit 2, nothing written), as an empty, a
    non-string or a 1 MB one is. Actual: it is merged as is (exit 0) and kept as a rater
    key; a ``name:`` one with U+202E becomes a display name that renders as "ann"."""
    _owner_home, _bo, votes = _owner_with_bos_votes(capsys, tmp_path, monkeypatch)
    forged = _forge(votes, tmp_path / "forged.json", rater_id=rater_id)
    code, out, err = run(capsys, "import", str(forged))
    assert code == 2 and every_rater() == set(), f"exit {code}: {out.strip() or err.strip()}"


# -- 9. export --votes sends other raters' votes too ----------------------------------------------


def test_export_votes_carries_other_raters_votes_so_a_packs_votes_cannot_go_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: ``chatlab export --votes`` is "your own votes and ratings, to send back to a
    study's owner": after bo merges cy's votes on the same pack (a fellow rater forwarded
    them), bo's file still holds bo's votes only, and the owner imports it.
    Actual: it writes every rater's votes on those comparisons; the owner's import refuses
    the whole file ("is a second rater in a rating pack's votes"), and chatlab has no way
    to export bo's votes alone: bo's 4 votes can never come back."""
    owner_home = tmp_path / "owner"
    home_of(monkeypatch, owner_home)
    owner_study(capsys, tmp_path)
    pack = export_pack(capsys, tmp_path / "pack.json", "--for", "bo")
    _cy, cy_votes = rate_pack_elsewhere(capsys, monkeypatch, tmp_path / "cy", pack, "cy")
    bo_home = tmp_path / "bo"
    home_of(monkeypatch, bo_home)
    assert run(capsys, "import", str(pack))[0] == 0
    bo = rate_as_me("bo", pick=1)
    assert run(capsys, "import", str(cy_votes))[0] == 0  # cy's votes, for comparison
    votes = tmp_path / "bo-votes.json"
    assert run(capsys, "export", "--votes", "--study", "pack", "-o", str(votes))[0] == 0
    home_of(monkeypatch, owner_home)
    code, out, err = run(capsys, "import", str(votes))
    assert code == 0 and every_rater() == {bo}, f"exit {code}: {out.strip() or err.strip()}"


# -- 10. a second id claims votes that are not the owner's ----------------------------------------


def test_a_new_rater_id_on_a_claimed_database_takes_a_colleagues_nameless_votes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: the owner's votes from before rater ids are claimed once per database
    (``claim_rater``'s docstring): votes imported *after* that under no name (rater id
    ``"name:"``, a colleague's file that gave no name) stay that colleague's, whatever id
    this installation later has (a config lost or replaced, a reinstall keeping the data).
    Actual: a new id made for a database already claimed by another id claims again and
    moves the colleague's 4 nameless votes to the owner's new id: someone else's votes
    become the owner's (and the old id's sighted marks no longer apply either)."""
    owner_home = tmp_path / "owner"
    home_of(monkeypatch, owner_home)
    owner_study(capsys, tmp_path)
    full = tmp_path / "full.json"
    assert run(capsys, "export", "--study", "pack", "--unblind", "-o", str(full))[0] == 0  # makes id A
    doc = json.loads(full.read_text("utf-8"))
    for s in doc["sessions"]:
        s["turns"][0]["votes"] = [{"rater": "", "choice": "tie", "voted_at": "2025-01-01T00:00:00.000Z"}]
    nameless = tmp_path / "nameless.json"
    nameless.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = run(capsys, "import", str(nameless))
    assert code == 0 and every_rater() == {"name:"}, err
    (owner_home / "config.toml").unlink()  # the config is lost; the database is kept
    store = Store(default_path())
    try:
        new = installation(store.claim_rater)
    finally:
        store.close()
    assert every_rater() == {"name:"}, f"the colleague's nameless votes moved to the new id {new.id}"


# -- 11. upgrading a database with a rater literally named "name:..." -----------------------------


@pytest.mark.parametrize(
    "picks",
    [
        {"ann": [0, 0, 1, 0, 2, 0], "name:ann": [1, 1, 1, 2, 2, 0]},
        {"": [0, 0, 1, 0, 2, 0], "name:": [2, 2, 1, 2, 2, 0]},  # no name (the window's), then "name:"
    ],
    ids=["ann-then-name:ann", "nameless-then-name:"],
)
def test_upgrading_a_database_whose_rater_is_literally_named_name_prefix(
    home: Path, monkeypatch: pytest.MonkeyPatch, picks: dict[str, list[int]]
) -> None:
    """Expected: a database from before rater ids, where one rater went by "ann" (or by no
    name, the main window's "") and another, later, literally by "name:ann" (or "name:"),
    upgrades: "ann" -> id "name:ann", "name:ann" -> "name:name:ann"; nothing merged,
    nothing lost, 12 votes in the study. Actual: migration 12 -> 13 rewrites
    ``votes.rater`` row by row (``UPDATE votes SET rater = 'name:' || rater``), so "ann"
    becomes "name:ann" while the literal "name:ann" row of the same turn still exists:
    UNIQUE constraint failed, and chatlab refuses to open the database at all ("can't be
    opened ... chatlab left it untouched"): every vote is out of reach."""
    import tests.core.settings.test_raters as raters_tests

    monkeypatch.setattr(raters_tests, "PICKS", picks)
    path = default_path()
    path.parent.mkdir(parents=True)
    raters_tests.legacy_db(path, raters_tests.old_version())
    store = Store(path)
    try:
        votes = dict(
            store.con.execute("SELECT rater, count(*) FROM votes WHERE turn_id != 'chat-t' GROUP BY rater")
        )
        assert votes == {"name:" + name: 6 for name in picks}
    finally:
        store.close()
