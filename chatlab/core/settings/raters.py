"""Raters: who cast a vote, as an id that can't be mistaken for anyone else's.

Each installation has one rater: a random id (``"r"`` and 32 hex digits) and a display
name, made once, on first need (a vote, the rating queue, an export or import), and kept
in ``config.toml`` as ``[rater] id = …, name = …``. Votes and ratings are keyed by the id;
the name is only shown. A vote from before rater ids (or from a file that gives only a
name) has an id derived from its name, ``"name:" + name``: a remote rater who calls
themselves what the owner calls themselves is still someone else, and a vote with no
name at all is rater ``"name:"``, never this installation's.

When the id is first made on a machine with a database, the owner's own votes from
before (the main window's, under no name, and the queue's, under the name in the
config) are moved to it (the store's ``claim_rater``), so one person is one rater. The
limit: votes imported before the upgrade under one of those same names can't be told
apart from the owner's, and move with them.

Where two ids go by the same name, :func:`labels` shows them apart ("carol",
"carol (2)"); they are never merged. The id is not a secret, but nothing logs it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from chatlab.core.data.votes import DERIVED, name_of_id
from chatlab.core.settings.config import ConfigError, clean_name, load_config, paths, save_config


@dataclass(frozen=True)
class Rater:
    id: str
    name: str


def new_rater_id() -> str:
    return "r" + secrets.token_hex(16)


def os_user() -> str:
    import getpass

    try:
        return clean_name(getpass.getuser())
    except Exception:  # no such user, no environment: the account name is only a default
        return ""


def derived(name: str) -> str:
    return DERIVED + name


def legacy_ids(name: str | None) -> list[str]:
    """The ids the owner's own votes had before rater ids: the main window's (no name)
    and the queue's (the name the config gave)."""
    out = [derived("")]
    if name:
        out.append(derived(name))
    return out


Claim = Callable[[Rater, Sequence[str]], object]


@contextmanager
def _locked(config_file: Path) -> Iterator[None]:
    """An exclusive lock beside the config file, for one process at a time (none where
    the folder can't hold one, or on a system without ``fcntl``)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        handle = open(config_file.with_name(config_file.name + ".lock"), "a")  # noqa: SIM115
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installation(claim: Claim | None = None, path: Path | None = None, name: str | None = None) -> Rater:
    """This installation's rater, made and written to ``config.toml`` the first time.
    ``name`` (``chatlab rate --rater NAME``) changes the display name, never the id.
    ``claim`` (the store's ``claim_rater``) moves the owner's votes from before rater
    ids to the id, once per database. Raises :class:`~chatlab.core.settings.config.ConfigError`
    when the config can't be read or written."""
    # Read, make and write under a lock, reading again inside it: two chatlabs starting
    # at once must not each make an id and keep the last (the other's votes would then
    # carry an id nobody is).
    with _locked(path or paths().config_file):
        config = load_config(path)
        wanted = clean_name(name) if name else ""
        legacy = config.rater
        if config.rater_id:
            rater = Rater(config.rater_id, config.rater or os_user() or "me")
            changed = bool(wanted and wanted != rater.name)
        else:
            rater = Rater(new_rater_id(), config.rater or os_user() or "me")
            changed = True
        if wanted:
            rater = Rater(rater.id, wanted)
        if changed:
            try:
                save_config(replace(config, rater=rater.name, rater_id=rater.id), path)
            except OSError as exc:
                raise ConfigError(
                    f"your rater id could not be kept in the config file: {exc.strerror}"
                ) from None
    if claim is not None:
        claim(rater, legacy_ids(legacy))
    return rater


def labels(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{rater id: what to show}: the name (or, with none, "(no name)"), and where two
    ids go by one name, "carol", "carol (2)"… in the order of their ids."""
    names: dict[str, str] = {}
    for rater_id, name in pairs:
        if not names.get(rater_id):
            names[rater_id] = name or name_of_id(rater_id)

    def base(rater_id: str) -> str:
        # An id no name came with (only a test makes one) is shown as itself.
        return names[rater_id] or ("(no name)" if rater_id.startswith(DERIVED) or not rater_id else rater_id)

    # Every label is one rater's: a second "carol" is "carol (2)" unless someone is
    # called that, then "carol (3)", and so on.
    taken = {base(rater_id) for rater_id in names}
    used: set[str] = set()
    out: dict[str, str] = {}
    for rater_id in sorted(names, key=lambda r: (r.startswith(DERIVED), r)):
        label = base(rater_id)
        if label in used:
            k = 2
            while f"{label} ({k})" in used or f"{label} ({k})" in taken:
                k += 1
            label = f"{label} ({k})"
        used.add(label)
        out[rater_id] = label
    return out


def resolve(
    wanted: Sequence[str], shown: Mapping[str, str], names: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """The rater ids ``wanted`` names: each an id, a label as :func:`labels` shows it, or
    a name (every id that goes by it). Returns (ids, what matched nothing)."""
    ids: list[str] = []
    unknown: list[str] = []
    for w in wanted:
        found = [i for i in shown if w == i or w == shown[i]] or [i for i in shown if names.get(i) == w]
        if not found:
            unknown.append(w)
        ids += [i for i in found if i not in ids]
    return ids, unknown
