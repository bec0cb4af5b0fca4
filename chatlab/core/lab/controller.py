"""The lab controller: every session behaviour, Qt-free, shared by the window and the CLI.

A :class:`Lab` owns the session being worked on and everything a user does to it: lanes
(add, edit, move, remove; a lane with answers is never re-attributed), sending, retrying
and stopping, blind mode (the shuffled order of the first turn, masking, the reveal; a
later turn is sighted, and New blind turn starts afresh), votes (cast, and undone until
the next send), reasoning guesses and ratings, totals and pre-send estimates, and saving
(the session before the first token, a batched checkpoint while streaming, each change a
user makes).
Views subscribe to its :class:`~chatlab.core.lab.lab_events.LabEvent`\\ s (as napari's Qt
layer subscribes to its ``ViewerModel``) and read its state; per-token work is one set
insertion, which a view collects once per frame with :meth:`Lab.take_dirty`. What a blind
vote reveals is worked out in :mod:`chatlab.core.lab.blind`, what a vote records in
:mod:`chatlab.core.lab.voting`, costs and estimates in
:mod:`chatlab.core.lab.totals`. The store is reached through two small protocols
(:mod:`chatlab.core.lab.storage`), so core does not depend on ``chatlab.store``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from chatlab.core.data import safety
from chatlab.core.data.events import Done, StreamError, StreamEvent
from chatlab.core.data.export import export_sessions, masked
from chatlab.core.data.model import Lane, Response, Session, Turn
from chatlab.core.data.votes import Rating
from chatlab.core.lab import blind, totals, voting
from chatlab.core.lab.blind import Reveal, Tally, letter
from chatlab.core.lab.lab_events import LabEvent, LanesChanged, Said, Saved, TurnFinished, TurnStarted
from chatlab.core.lab.orchestrator import DEFAULT_IDLE_TIMEOUT_S, Runner, TurnRun
from chatlab.core.lab.storage import Saver, SessionStore
from chatlab.core.lab.totals import CostTotal, LaneEstimate
from chatlab.core.settings.raters import Rater

log = logging.getLogger("chatlab")

MAX_LANES = 8
CHECKPOINT_INTERVAL_S = 1.0


class LabError(Exception):
    """A user action that can't be done now; the message says why, in words."""


class Lab:
    """One session being compared, and everything a user does to it."""

    def __init__(
        self,
        runner: Runner,
        *,
        store: SessionStore | None = None,
        saver_factory: Callable[[Session], Saver] | None = None,
        rater: str = "",
        rng: random.Random | None = None,
        session: Session | None = None,
        rater_of: Callable[[], Rater] | None = None,
    ) -> None:
        self.runner = runner
        self.store = store
        self.saver_factory = saver_factory
        # Who votes here: a rater id (``rater``), or made on first need by ``rater_of``
        # (this installation's rater, see chatlab.core.settings.raters).
        self._rater = rater
        self.rater_name = ""
        self.rater_of = rater_of
        self.rng = rng or random.Random()
        self.session = session or Session()
        self.runs: list[TurnRun] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.saver: Saver | None = None
        self._saver_for: Session | None = None  # the session ``saver`` writes
        self.save_error: BaseException | None = None  # the last failed save, for the CLI
        self.system: str | None = None  # the shared system prompt, once set_system is used
        self._system_shared = False  # lanes keep their own system prompts until then
        self._applied: str | None = None  # the shared prompt the lanes without their own were given
        self.idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S
        self.timeout_s: float | None = None
        # The demo prompt sent at launch is not saved until the user does something with
        # it (votes, rates, follows up): launching the demo must not add a session each time.
        self.unsaved = False
        self.closing = False
        self._dirty: set[str] = set()
        self._observers: list[Callable[[LabEvent], None]] = []
        self._checkpoints: asyncio.Task[None] | None = None
        # Blind turns whose names this rater has seen (a vote revealed them; undoing the
        # vote does not hide them again, so a new vote on one is sighted).
        self.revealed: set[str] = set()

    @property
    def rater(self) -> str:
        """The id votes and ratings cast here go under (made on first need)."""
        if not self._rater and self.rater_of is not None:
            try:
                found = self.rater_of()
            except Exception as exc:  # the config can't be written: no vote under a lost id
                raise LabError(f"no rater id to vote under: {exc}") from None
            self._rater, self.rater_name = found.id, found.name
        return self._rater

    @rater.setter
    def rater(self, value: str) -> None:
        self._rater = value

    def known_rater(self) -> Rater | None:
        """The rater votes here go under, if it is known yet (never made by asking)."""
        return Rater(self._rater, self.rater_name or self._rater) if self._rater else None

    # -- observers ------------------------------------------------------------------------

    def subscribe(self, observer: Callable[[LabEvent], None]) -> None:
        self._observers.append(observer)

    def _emit(self, event: LabEvent) -> None:
        for observer in list(self._observers):
            try:
                observer(event)
            except Exception:  # a view's bug must not stop the session
                log.exception("lab observer failed on %s", type(event).__name__)

    def take_dirty(self) -> set[str]:
        """The lanes that received events since the last call (a view's frame)."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    # -- state ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Lanes are running (a finished run leaves ``runs`` before views are told)."""
        return bool(self.runs)

    @property
    def last_turn(self) -> Turn | None:
        return self.session.turns[-1] if self.session.turns else None

    @property
    def masked(self) -> bool:
        """A blind turn not yet voted on: nothing may say which model is which."""
        last = self.last_turn
        # This rater's vote: another rater's, merged from their file, unmasks nothing here.
        if not self.session.blind or last is None or last.id in self.revealed:
            return False
        mine = last.vote_of(self._rater)
        return mine is None and not self.void(last) and not blind.sighted(self.session, last)

    def sighted_note(self, turn: Turn) -> str:
        """A later turn of a blind session says it is sighted (see :func:`blind.sighted`)."""
        return blind.sighted_note(self.session, turn)

    def void(self, turn: Turn) -> bool:
        """A blind turn the user stopped (see :func:`chatlab.core.lab.blind.void`)."""
        return blind.void(self.session, turn)

    def shown_order(self) -> list[str]:
        """Lane ids in the order they are shown (see :func:`chatlab.core.lab.blind.shown_order`)."""
        return blind.shown_order(self.session)

    def letter_of(self, lane_id: str) -> str | None:
        """ "A", "B"… while masked; None when names may be shown."""
        if not self.masked:
            return None
        order = self.shown_order()
        return letter(order.index(lane_id)) if lane_id in order else None

    def name_of(self, lane_id: str) -> str:
        """What the lane's header calls it: "Model A" while masked, else its label, or
        its provider:model for a lane without one (never its position, which a blind
        turn shuffles)."""
        if self.masked:
            mark = self.letter_of(lane_id)
            return f"Model {mark}" if mark else "a model"
        try:
            lane = self.session.lane(lane_id)
        except KeyError:
            return "a removed lane"
        # Two lanes of one name (the same model twice, unlabelled) are told apart by their
        # place among themselves in the session, which no shuffle changes: "… #2".
        twins = [x.id for x in self.session.lanes if x.display == lane.display]
        return f"{lane.display} #{twins.index(lane_id) + 1}" if len(twins) > 1 else lane.display

    def choice_name(self, choice: str) -> str:
        """A vote's choice in words: a lane's shown name, "Tie" or "All bad" (as on the
        vote bar's buttons)."""
        if choice in ("tie", "all_bad"):
            return choice.replace("_", " ").capitalize()
        return self.name_of(choice)

    # -- lanes ----------------------------------------------------------------------------

    def _check_editable(self) -> None:
        if self.busy:
            raise LabError("wait until the lanes have finished")

    def _lane(self, lane_id: str) -> Lane:
        """A lane of the comparison (not a retired one)."""
        for lane in self.session.lanes:
            if lane.id == lane_id:
                return lane
        raise LabError("that lane is no longer in this session")

    def add_lane(self, lane: Lane) -> Lane:
        if len(self.session.lanes) >= MAX_LANES:
            raise LabError(f"at most {MAX_LANES} lanes")
        self.session.lanes.append(lane)
        self._emit(LanesChanged())
        return lane

    def remove_lane(self, lane_id: str) -> None:
        self._check_editable()
        self.session.retire(self._lane(lane_id))  # its answers stay, attributed to it
        self._emit(LanesChanged())

    def move_lane(self, lane_id: str, delta: int) -> None:
        self._check_editable()
        lanes = self.session.lanes
        i = lanes.index(self._lane(lane_id))
        j = i + delta
        if 0 <= j < len(lanes):
            lanes[i], lanes[j] = lanes[j], lanes[i]
            self._emit(LanesChanged())

    def edit_lane(self, lane_id: str, edited: Lane) -> Lane:
        """Apply an edit. A lane with answers that changes provider, model or parameters
        is replaced by a new lane (the old one keeps its answers); the lane now in that
        place is returned."""
        self._check_editable()
        lane = self._lane(lane_id)
        same = (edited.provider, edited.model, edited.params) == (lane.provider, lane.model, lane.params)
        if same or not self.session.has_history(lane.id):
            lane.provider, lane.model, lane.params, lane.label = (
                edited.provider,
                edited.model,
                edited.params,
                edited.label,
            )
            self._emit(LanesChanged())
            return lane
        index = self.session.lanes.index(lane)
        fresh = Lane(edited.provider, edited.model, edited.params, edited.label)
        self.session.retire(lane)
        self.session.lanes.insert(index, fresh)
        self._emit(LanesChanged())
        self._emit(
            Said(f"The old {lane.spec} lane keeps its answers; {fresh.spec} answers from the next turn on")
        )
        return fresh

    def set_blind(self, blind: bool) -> None:
        """Blind mode is chosen before the first turn (a session is blind or not)."""
        if self.session.turns:
            raise LabError("blind mode is set before the first send")
        self.session.blind = blind
        self.session.show_reasoning &= blind  # a blind option: it goes with blind mode
        self._emit(LanesChanged())

    def set_show_reasoning(self, show: bool) -> None:
        """Blind, with each lane's reasoning shown alike while masked, so the guess is
        about the thinking; chosen before the first turn, like blind mode."""
        if self.session.turns:
            raise LabError("show reasoning is set before the first send")
        if show and not self.session.blind:
            raise LabError("show reasoning is a blind option: turn blind mode on first")
        self.session.show_reasoning = show
        self._emit(LanesChanged())

    # -- running ----------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Why lanes can't run (no key, unknown provider, bad parameters), one per lane."""
        out = []
        for lane in self.session.lanes:
            try:
                self.runner.check_lane(lane)
            except Exception as exc:
                out.append(f"{lane.display}: {exc}")
        return out

    def set_system(self, text: str | None) -> None:
        """One system prompt for every lane (the window's editor); empty means none."""
        text = safety.clean_text(text) if text else text  # a lone surrogate can't be saved
        self.system = text.strip() if text and text.strip() else None
        self._system_shared = True

    def lane_problem(self, lane: Lane) -> str | None:
        """Why ``lane`` can't run, in a few words (shown on the lane before any send)."""
        try:
            self.runner.check_lane(lane)
        except Exception as exc:
            text = str(exc)
            if text.startswith("no API key"):
                return "no API key: add one in Settings"
            return text if len(text) <= 80 else text[:79] + "…"
        return None

    def system_of(self, lane: Lane) -> str | None:
        """The system prompt ``lane`` sends next: its own wins; a lane with none (or with
        the shared one it was given) takes the shared one."""
        own = lane.params.system
        return self.system if self._system_shared and own in (None, self._applied) else own

    def _apply_system(self) -> None:
        if not self._system_shared:
            return
        for lane in self.session.lanes:
            if lane.params.system != (system := self.system_of(lane)):
                lane.params = replace(lane.params, system=system)
        self._applied = self.system

    def prepare(self, prompt: str, keep: bool = True) -> Turn:
        """Make the next turn (shuffled when blind) and save it before any token."""
        if not prompt.strip():
            raise LabError("the prompt is empty")
        if self.busy or self.closing:
            raise LabError("wait until the lanes have finished")
        if not self.session.lanes:
            raise LabError("add a lane first")
        if self.masked:
            raise LabError("vote on this blind turn first: a skipped turn can't be judged later")
        problems = self.problems()
        if problems:
            raise LabError("These lanes can't run:\n\n" + "\n".join(problems))
        self._apply_system()
        where = self.shown_order()  # a sighted turn keeps the lanes where they were revealed
        turn = self.session.new_turn(prompt)
        if blind.sighted(self.session, turn):
            turn.shown_order = where
        elif self.session.blind:
            turn.shown_order = [lane.id for lane in self.session.lanes]
            self.rng.shuffle(turn.shown_order)
        self.unsaved = not keep
        self.persist()
        return turn

    def start(self, turn: Turn, lanes: Sequence[Lane] | None = None, retry: bool = False) -> TurnRun:
        run = self.runner.turn(
            self.session,
            turn,
            lanes=lanes,
            listener=self._listener,
            idle_timeout_s=self.idle_timeout_s,
            timeout_s=self.timeout_s,
        )
        self.runs.append(run)
        self._emit(TurnStarted(turn, [lane.id for lane in run.lanes], retry))
        task = asyncio.ensure_future(self._drive(run))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        if self.saver is not None and (self._checkpoints is None or self._checkpoints.done()):
            self._checkpoints = asyncio.ensure_future(self._checkpoint_loop())
        return run

    def send(self, prompt: str, keep: bool = True) -> Turn:
        """Send ``prompt`` to every lane; ``keep=False`` saves nothing until the user acts."""
        turn = self.prepare(prompt, keep)
        self.start(turn)
        return turn

    def retry(self, lane_id: str) -> None:
        """Run the last turn again for one lane (its previous answer is replaced)."""
        turn = self.last_turn
        if turn is None or self.closing:
            return
        resp = turn.responses.get(lane_id)
        if resp is None or not resp.status.finished or any(lane_id in run.tasks for run in self.runs):
            return
        if self.masked:  # how long a lane takes again would say whether it reasons
            raise LabError("vote first: a blind turn can't be retried before the reveal")
        if self.session.blind and turn.vote is not None and not blind.sighted(self.session, turn):
            raise LabError("this blind turn was judged as it was; send a new prompt to try again")
        lane = self.session.lane(lane_id)
        self.runner.check_lane(lane)
        if turn.vote is not None:  # the vote judged the answer being replaced
            turn.vote = None
            self._emit(Said("The vote on this turn was cleared: the answer it judged is being replaced"))
        self.start(turn, [lane], retry=True)

    def stop(self, lane_id: str) -> None:
        for run in self.runs:
            run.cancel(lane_id)

    def stop_all(self) -> None:
        for run in self.runs:
            run.cancel_all()

    async def wait(self) -> None:
        """Until every run (and its final save) has finished."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def _listener(self, lane: Lane, resp: Response, ev: StreamEvent | None) -> None:
        self._dirty.add(lane.id)
        if self.saver is not None:
            turn = self.last_turn
            if turn is not None:
                self.saver.touch(turn, resp)
            if isinstance(ev, Done | StreamError):
                self._flush()  # a finished response is written at once

    async def _drive(self, run: TurnRun) -> None:
        try:
            await run.run()
        finally:
            self.runs.remove(run)
            self._dirty.update(lane.id for lane in run.lanes)
            if not self.runs:
                if self._checkpoints is not None:
                    self._checkpoints.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._checkpoints
                    self._checkpoints = None
                if self.saver is not None and not self.saver.finish():
                    self._emit(Said((self.saver.problem or "could not save the session").capitalize()))
                self._emit(TurnFinished(run.turn))

    async def _checkpoint_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL_S)
            self._flush()

    def _flush(self) -> None:
        if self.saver is not None and not self.saver.flush() and self.saver.problem:
            self._emit(Said(self.saver.problem.capitalize()))

    async def shutdown(self) -> None:
        """Stop every lane, wait for them, save, close the adapters."""
        self.closing = True
        self.stop_all()
        await self.wait()
        self._flush()
        with contextlib.suppress(Exception):
            await self.runner.aclose()

    # -- saving ---------------------------------------------------------------------------

    def persist(self) -> bool:
        """Write the whole session (not while an unsaved demo); False if it failed."""
        if self.store is None or self.unsaved:
            return True
        try:
            self.store.save_session(self.session)
        except Exception as exc:  # a full disk must not take the lanes down
            self.save_error = exc
            self._emit(Said(f"Could not save the session: {exc}"))
            return False
        self.save_error = None
        if self.saver_factory is not None and self._saver_for is not self.session:
            self.saver = self.saver_factory(self.session)
            self._saver_for = self.session
        self._emit(Saved())
        return True

    def _write(self, change: Callable[[SessionStore], object]) -> bool:
        """Save a user's change (a vote, a rating); an unsaved demo session is kept now.
        False when the store refused it (said, never raised: a full disk must not take
        the window down)."""
        if self.store is None:
            return True
        if self.unsaved:
            self.unsaved = False
            self.persist()  # the whole session, with its answers, then the change
        try:
            change(self.store)
        except Exception as exc:
            self._emit(Said(f"Could not save: {exc}"))
            return False
        return True

    # -- votes and ratings (chatlab.core.lab.voting) ------------------------------------------

    def vote_choices(self) -> list[tuple[str, str]]:
        """(choice, shown name) for the last turn's answers, in shown order."""
        return voting.vote_choices(self)

    def vote(self, choice: str, guessed: Iterable[str] | None = None) -> Reveal | None:
        """Record the vote on the last turn; a blind vote reveals (see :func:`voting.vote`)."""
        return voting.vote(self, choice, guessed)

    def mark_to_rate(self, marked: bool = True) -> None:
        """Put the last turn into the blind rating queue (rate it later, with others)."""
        voting.mark_to_rate(self, marked)

    def undo_vote(self) -> None:
        """Take back this rater's vote on the last turn (see :func:`voting.undo_vote`)."""
        voting.undo_vote(self)

    def rate(self, lane_id: str, rating: Rating) -> None:
        voting.rate(self, lane_id, rating)

    def reveal(self, turn: Turn) -> Reveal:
        """The reveal card's contents for a voted blind turn."""
        return blind.reveal(self.session, turn)

    def tally(self) -> Tally:
        """Blind votes in this session: how many, guesses right, wins per model."""
        return blind.tally(self.session)

    # -- totals and estimates ---------------------------------------------------------------

    def lane_total(self, lane_id: str) -> tuple[float | None, bool]:
        return totals.lane_total(self.session, lane_id)

    def session_cost(self) -> CostTotal:
        return totals.session_cost(self.session)

    def estimates(self, prompt: str) -> list[LaneEstimate]:
        """Input tokens (≈) and input cost of sending ``prompt`` next, per lane."""
        return totals.estimates(self.session, prompt, self.system_of, self.runner.config)

    # -- sessions -----------------------------------------------------------------------------

    def open(self, session: Session) -> None:
        """Show another session (from the history, a preset, a duplicate)."""
        self._check_editable()
        self.session = session
        self.unsaved = False
        self.saver = self.saver_factory(session) if self.saver_factory and session.turns else None
        self._saver_for = session if self.saver is not None else None
        # The shared prompt is the one every lane has (lanes with their own keep them).
        systems = {lane.params.system for lane in session.lanes}
        self.system = self._applied = systems.pop() if len(systems) == 1 else None
        self.revealed = self._sighted(session)
        self._emit(LanesChanged())

    def _sighted(self, session: Session) -> set[str]:
        """The blind turns of ``session`` whose names this rater has seen without a vote
        standing on them (a vote undone after its reveal): never masked again. When the
        store can't say, none (masked: the safe side)."""
        known = self.known_rater()
        if self.store is None or known is None or not session.blind:
            return set()
        try:
            seen = self.store.sighted_turns(known.id)
        except Exception:  # a busy or damaged database: keep them masked
            log.warning("could not read the sighted turns", exc_info=True)
            return set()
        return {turn.id for turn in session.turns} & seen

    def new_session(self, lanes: Sequence[Lane] | None = None) -> None:
        """A fresh session with copies of the current lanes (or the given ones)."""
        source = self.session.lanes if lanes is None else lanes
        fresh = [Lane(x.provider, x.model, x.params, x.label) for x in source]
        self.open(Session(lanes=fresh, blind=self.session.blind, show_reasoning=self.session.show_reasoning))

    def new_blind_turn(self) -> None:
        """A fresh blind session with the same lanes, to be shuffled anew at its first send:
        after a reveal, a later turn is sighted, so a new blind comparison starts here."""
        self._check_editable()
        lanes = [Lane(x.provider, x.model, x.params, x.label) for x in self.session.lanes]
        if not lanes:
            raise LabError("add a lane first")
        self.open(Session(lanes=lanes, blind=True, show_reasoning=self.session.show_reasoning))

    def duplicate(self, source: Session) -> str:
        """Same lanes as ``source`` (fresh, editable); returns its first prompt to send again.
        Refused for a blind turn not voted on yet: its lanes with the same prompt, names
        showing, are a click away from telling which of its answers is whose."""
        if masked(source):
            raise LabError(
                "vote on it first: sent again with names showing, it would say whose answer is whose"
            )
        lanes = [Lane(x.provider, x.model, x.params, x.label) for x in source.lanes]
        self.open(Session(lanes=lanes, blind=source.blind, show_reasoning=source.show_reasoning))
        return source.turns[0].prompt if source.turns else ""

    def export(self) -> tuple[dict[str, object], list[str]]:
        """The current session as an export document; refused while masked."""
        if self.masked:
            raise LabError("vote first: an export would say which model is which")
        session = self.session
        return export_sessions([session.id], lambda _id: session)
