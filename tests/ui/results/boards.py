"""Sessions for the Leaderboard's tests, built in code: one model with reasoning on
("Deep", a trained reasoner), off ("Plain") and asked to think ("Asked"), on twelve
study prompts, every other one keyed (its answers graded); a fourth model ("Rare") on
three writing prompts only; a fifth ("Quiz") graded on keyed prompts but never voted on. Ann
votes blind on every prompt, cy on the last six; bo votes on three with the names
showing (sighted)."""

from __future__ import annotations

from pathlib import Path

from chatlab.core.data.events import Usage
from chatlab.core.data.model import Grade, Lane, LaneParams, Response, Session, Status, StudyRef, Turn
from chatlab.core.data.votes import Vote
from chatlab.store.db import Store

PROMPTS = 12
SECOND = 6  # cy's blind votes, on the last six prompts
BLIND = PROMPTS + SECOND
SIGHTED = 3  # bo's votes, cast with the names showing
RARE_PROMPTS = (1, 3, 5)  # writing prompts, unkeyed


def board_sessions() -> list[Session]:
    sessions = []
    for k in range(PROMPTS):
        lanes = [
            Lane("demo", "m", LaneParams(reasoning_effort="high"), label="Deep", id=f"a{k}"),
            Lane("demo", "m", label="Plain", id=f"b{k}"),
            Lane("demo", "m", LaneParams(think="prompted"), label="Asked", id=f"c{k}"),
        ]
        if k in RARE_PROMPTS:
            lanes.append(Lane("demo", "rare", label="Rare", id=f"d{k}"))
        turn = Turn(prompt=f"Prompt {k}", id=f"t{k}", created_at=f"2026-02-01T00:{k:02d}:00+00:00")
        spent = (400 + 10 * k, 0, 120 + k, 0)  # reasoning tokens: Deep, Plain, Asked, Rare
        for i, lane in enumerate(lanes):
            resp = Response(
                lane.id,
                Status.OK,
                text_parts=["answer " * (5 + i + k)],
                usage=Usage(
                    input_tokens=20,
                    output_tokens=60 + spent[i],
                    reasoning_tokens=spent[i],
                    reasoning_estimated=i == 2,  # a prompted lane's <think> block, counted by chatlab
                ),
                cost_usd=0.0004 * (4 - i) + 0.00001 * k,
            )
            if k % 2 == 0:  # a keyed prompt
                right = (k + i) % 3 != 2 if i == 0 else (k + i) % 4 == 0
                resp.grades = [Grade(right, "expected 4, found " + ("4" if right else "5"))]
            turn.responses[lane.id] = resp
        order = [lanes[(k + j) % len(lanes)].id for j in range(len(lanes))]
        choice = lanes[(0, 0, 1, 2, 0, 2, 1, 0, 3, 0, 2, 1)[k] % len(lanes)].id
        turn.votes.append(
            Vote(
                choice,
                guessed=[lanes[0].id if k % 4 else lanes[1].id],
                rater="id:ann",
                rater_name="ann",
                voted_at="2026-02-02",
                shown_order=order,
            )
        )
        if k >= PROMPTS - SECOND:
            turn.votes.append(
                Vote(
                    lanes[k % 3].id, rater="id:cy", rater_name="cy", voted_at="2026-02-02", shown_order=order
                )
            )
        if k < SIGHTED:
            turn.votes.append(
                Vote(lanes[1].id, rater="id:bo", rater_name="bo", voted_at="2026-02-02", shown_order=order,
                     sighted=True)
            )  # fmt: skip
        study = StudyRef("s1", "Board", f"p{k}", 0, ("math",) if k % 2 == 0 else ("writing",))
        created = f"2026-02-01T00:{k:02d}:00+00:00"
        sessions.append(
            Session(lanes=lanes, turns=[turn], id=f"s{k}", created_at=created, blind=True, study=study)
        )
    for k in range(0, PROMPTS, 2):  # graded, never voted on
        lane = Lane("demo", "quiz", label="Quiz", id=f"q{k}")
        turn = Turn(prompt=f"Prompt {k}", id=f"tq{k}", created_at=f"2026-02-01T01:{k:02d}:00+00:00")
        resp = Response(lane.id, Status.OK, text_parts=["4"], usage=Usage(input_tokens=20, output_tokens=3))
        resp.grades = [Grade(k % 4 == 0, "expected 4")]
        turn.responses[lane.id] = resp
        study = StudyRef("s1", "Board", f"p{k}", 1, ("math",))
        sessions.append(
            Session(
                lanes=[lane], turns=[turn], id=f"sq{k}", created_at=turn.created_at, blind=True, study=study
            )
        )
    return sessions


def board_store(path: Path) -> Store:
    store = Store(path)
    for session in board_sessions():
        store.save_session(session)
    return store
