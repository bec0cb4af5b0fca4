"""Studies: one unattended run of a suite, resumable exactly, within a budget.

A study turns each (prompt, sample) of a :class:`~chatlab.core.studies.suites.Suite` into its
own single-turn comparison (a blind :class:`Session` whose lanes are copies of the
suite's lanes), created all at once before anything is sent. Each lane's answer to a
comparison is a unit, ``prompt/lane/sample``; what a unit needs is read from its saved
response alone (none, or cut off: send it; ok: done; refused: failed for good), so a
study stopped at any moment, even by ``kill -9``, resumes with exactly the units it
still lacks. :mod:`~chatlab.core.studies.estimate` says what the units will take
before anything is sent, :mod:`~chatlab.core.studies.run` sends them, and
:mod:`~chatlab.core.studies.controller` holds the lifecycle around a run.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chatlab.core.data.constants import STUDY_IDLE_TIMEOUT_S
from chatlab.core.data.events import ErrorKind, StreamError
from chatlab.core.data.model import ErrorInfo, Lane, Response, Session, Status, StudyRef, Turn
from chatlab.core.settings.config import Config
from chatlab.core.studies.suites import Suite, Unit, parse_suite

STATUSES = ("new", "running", "paused", "done", "cancelled", "imported")
REVEALS = ("end", "each")  # identities shown at the end of the queue, or after each vote
# A finished answer is on disk within this long; a kill in between re-sends that unit on
# resume (it is never counted twice: nothing of it was written).
FINAL_FLUSH_S = 0.1


@dataclass(frozen=True)
class StudyInfo:
    """A study as listed: its record and how far it has got."""

    id: str
    name: str
    created_at: str
    status: str
    suite: dict[str, Any]  # the snapshot the study was made from ({} for an imported one)
    reveal: str = "end"
    pid: int | None = None  # the process running it, while it runs
    units: int = 0
    done: int = 0
    failed: int = 0  # refused: sending again would not help (resume --retry-failed does)
    spent_usd: float = 0.0
    unpriced: int = 0  # finished responses with no price: not in ``spent_usd``
    to_retry: int = 0  # cut off, or failed in a way worth another try: resume sends them

    @property
    def budget_usd(self) -> float | None:
        value = self.suite.get("budget_usd")
        return float(value) if isinstance(value, int | float) else None

    @property
    def left(self) -> int:
        """Units never sent (or stopped before they ended)."""
        return max(0, self.units - self.done - self.failed - self.to_retry)

    @property
    def runnable(self) -> bool:
        """Made here from a suite (an imported study has no suite to send)."""
        return self.status != "imported" and isinstance(self.suite.get("prompts"), list)

    @property
    def seed(self) -> int:
        value = self.suite.get("seed", 0)
        return value if type(value) is int else 0

    @property
    def repeats(self) -> float:
        value = self.suite.get("repeats", 0.0)
        return float(value) if isinstance(value, int | float) and 0 <= value <= 0.5 else 0.0


def alive(pid: int | None) -> bool:
    """Whether a process with this id exists (another chatlab running a study)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True


def suite_data(suite: Suite) -> dict[str, Any]:
    """A snapshot of ``suite`` that :func:`parse_suite` reads back to the same suite:
    the lanes written out (a preset resolved), the placebo twin left to be added again."""
    lanes = suite.lanes[:-1] if suite.placebo else suite.lanes
    data: dict[str, Any] = {
        "name": suite.name,
        "prompts": [
            {
                "id": p.id,
                "text": p.text,
                "tags": list(p.tags),
                "verifiable": p.verifiable,
                **({"system": p.system} if p.system else {}),
                **({"answer": p.answer.raw} if p.answer else {}),
            }
            for p in suite.prompts
        ],
        "lanes": [
            {
                "provider": lane.provider,
                "model": lane.model,
                **({"label": lane.label} if lane.label else {}),
                **({"params": lane.params.to_dict()} if lane.params.to_dict() else {}),
            }
            for lane in lanes
        ],
        "samples": suite.samples,
        "seed": suite.seed,
        "placebo": suite.placebo,
        "reveal": suite.reveal,
        "repeats": suite.repeats,
    }
    if suite.show_reasoning:
        data["show_reasoning"] = True
    if suite.idle_timeout_s != STUDY_IDLE_TIMEOUT_S:
        data["idle_timeout_s"] = suite.idle_timeout_s
    if suite.description:
        data["description"] = suite.description
    if suite.budget_usd is not None:
        data["budget_usd"] = suite.budget_usd
    if suite.concurrency:
        data["concurrency"] = dict(suite.concurrency)
    return data


def snapshot_suite(info: StudyInfo, config: Config | None = None) -> Suite:
    """The suite a study was made from, as it was then (config changes since don't count)."""
    return parse_suite(info.suite, config)


def comparisons(suite: Suite, study_id: str, name: str) -> list[Session]:
    """One blind single-turn session per (prompt, sample), every lane a fresh copy of the
    suite's (in suite order, so a lane's position is its index in the suite); a prompt's
    own system prompt replaces the lane's. With ``suite.placebo`` the last lane is the
    twin, and says so (:attr:`Lane.placebo`): the statistics never guess it from a label.
    With ``suite.show_reasoning`` each comparison shows its reasoning in the queue."""
    twin = len(suite.lanes) - 1 if suite.placebo else -1
    out = []
    for prompt in suite.prompts:
        for sample in range(suite.samples):
            lanes = [
                Lane(
                    entry.provider,
                    entry.model,
                    dataclasses.replace(entry.params, system=prompt.system)
                    if prompt.system
                    else entry.params,
                    entry.label,
                    placebo=i == twin,
                )
                for i, entry in enumerate(suite.lanes)
            ]
            session = Session(
                lanes=lanes,
                title=f"{name} · {prompt.id} · {sample + 1}",
                blind=True,
                study=StudyRef(study_id, name, prompt.id, sample, prompt.tags),
                show_reasoning=suite.show_reasoning,
            )
            session.turns.append(Turn(prompt=prompt.text))  # responses appear as units start
            out.append(session)
    return out


def unit_of(session: Session, lane: Lane) -> Unit:
    assert session.study is not None
    return Unit(session.study.prompt_id, session.lanes.index(lane), session.study.sample)


def transient(resp: Response) -> bool:
    """A failure worth one more try at the end: the provider was busy, or the line broke."""
    return _transient(resp.error)


def _transient(error: ErrorInfo | None) -> bool:
    if error is None:
        return False
    event = StreamError(error.kind, error.message, status_code=error.status_code)
    return event.retryable or error.kind is ErrorKind.TIMEOUT


def unit_state(resp: Response | None) -> str:
    """``pending`` (never sent, or stopped), ``done``, ``transient`` (cut off, or a
    failure worth another try) or ``failed`` (refused: sending again would not help)."""
    if resp is None:
        return "pending"
    return _state(resp.status, resp.error)


def _state(status: Status, error: ErrorInfo | None) -> str:
    if not status.finished or status is Status.CANCELLED:
        return "pending"
    if status is Status.OK:
        return "done"
    if status is Status.INTERRUPTED:  # the line broke, or chatlab was killed mid-answer
        return "transient"
    return "transient" if _transient(error) else "failed"


def stored_unit_state(status: str, error: str | None) -> str:
    """:func:`unit_state` of a response as the store keeps it (its status and error
    columns): the store counts a study's progress with it, so ``study show``, the window
    and ``study resume`` count alike. A damaged row counts as pending (sent again)."""
    try:
        parsed = json.loads(error) if error else None
        info = None
        if isinstance(parsed, dict):
            code = parsed.get("status_code")
            info = ErrorInfo(
                ErrorKind(str(parsed.get("kind"))),  # None: "None", not a kind (ValueError)
                str(parsed.get("message", "")),
                code if type(code) is int else None,
            )
        return _state(Status(status), info)
    except (ValueError, TypeError):
        return "pending"


@dataclass(frozen=True)
class Work:
    """One unit with where its answer goes."""

    unit: Unit
    session: Session
    lane: Lane

    @property
    def turn(self) -> Turn:
        return self.session.turns[0]


def work(sessions: Sequence[Session], *, retry_failed: bool = False) -> list[Work]:
    """The units these comparisons still need, in suite order (prompt, sample, lane)."""
    wanted = {"pending", "transient", *(["failed"] if retry_failed else [])}
    out = []
    for session in sessions:
        turn = session.turns[0]
        for lane in session.lanes:
            if unit_state(turn.responses.get(lane.id)) in wanted:
                out.append(Work(unit_of(session, lane), session, lane))
    return out
