"""The commands that list, export and import: ``keys``, ``sessions``, ``export`` and
``import`` (``ask`` is :mod:`chatlab.cli.ask`, ``providers`` :mod:`chatlab.cli.providers`).

They live apart from :mod:`chatlab.cli` so that parsing the command line (and
``--help``) loads none of what they need: the store and the export format are
imported when a command runs, not before.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from chatlab.cli.common import UsageError, explain, open_store
from chatlab.core.data.export import DocumentError, export_sessions, pack_created_at, parse_document
from chatlab.core.data.safety import terminal_text
from chatlab.core.settings.apikeys import KeyStore, NoKeychain
from chatlab.core.settings.config import clean_name, load_config
from chatlab.core.settings.raters import Rater
from chatlab.core.studies.controller import find_study
from chatlab.store.db import Store, StoreError, default_path

# -- keys and providers ---------------------------------------------------------------


def cmd_keys(args: Any, stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> int:
    config = load_config()
    store = KeyStore()
    if args.keys_command == "list":
        for name, provider in sorted(config.providers.items()):
            where = store.source(provider).where if provider.needs_key else "not needed"
            stdout.write(f"{terminal_text(name):<14} {where}\n")
        return 0
    provider = config.provider(args.name)
    if args.keys_command == "delete":
        removed = store.delete(provider.name)
        stdout.write(f"{'removed' if removed else 'no stored key for'} {provider.name}\n")
        return 0
    if stdin.isatty():
        secret = getpass.getpass(f"API key for {provider.name} (input hidden): ")
    else:
        secret = stdin.readline()
    secret = secret.strip()
    if not secret:
        raise UsageError("empty key")
    try:
        store.set(provider.name, secret)
    except NoKeychain as exc:
        envs = " or ".join(provider.env_candidates) or "api_key_env in config.toml"
        stderr.write(f"chatlab: the key was not saved: {exc} Set {envs} instead.\n")
        return 1
    stdout.write(f"stored the key for {provider.name} in the OS keychain\n")
    return 0


def cmd_sessions(stdout: IO[str]) -> int:
    if not default_path().exists():
        stdout.write("no sessions yet\n")
        return 0
    store = open_store(readonly_ok=True)
    try:
        rows = store.sessions()
    finally:
        store.close()
    if not rows:
        stdout.write("no sessions yet\n")
    for s in rows:
        blind = " [blind]" if s.blind else ""
        when = terminal_text(s.created_at[:16].replace("T", " "))
        title = terminal_text(s.title)
        stdout.write(f"{terminal_text(s.id)}  {when}  lanes {s.lanes}  turns {s.turns}  {title}{blind}\n")
    return 0


def _resolve_ids(store: Store, wanted: Sequence[str]) -> list[str]:
    known = store.ids()
    out = []
    for w in wanted:
        matches = [i for i in known if i.startswith(w)]
        if len(matches) != 1:
            raise UsageError(f"{'no' if not matches else 'more than one'} session matches {w!r}")
        out.append(matches[0])
    return out


def local_rater(store: Store, name: str | None = None) -> Rater:
    """This installation's rater (made and kept in the config on first need), its own
    votes from before rater ids claimed in ``store`` once."""
    from chatlab.core.settings.raters import installation

    try:
        return installation(store.claim_rater, name=name)
    except (sqlite3.Error, OSError) as exc:
        raise UsageError(f"{explain(store, exc)}") from None


def _check_export_args(args: Any) -> None:
    if args.votes:
        if args.ids:
            raise UsageError(
                "--votes exports your own votes: name no sessions (add --study NAME for one study)"
            )
        if args.rating_pack or args.unblind:
            raise UsageError("--votes goes with --study NAME or --all, not with --rating-pack or --unblind")
        if args.all and args.study:
            raise UsageError("--votes takes --study NAME or --all, not both")
    elif sum(bool(x) for x in (args.all, args.ids, args.study)) != 1:
        raise UsageError("name the sessions to export, or use one of --all, --study NAME or --votes")
    if args.rating_pack and not args.study:
        raise UsageError("--rating-pack needs --study NAME")
    if args.unblind and not args.study:
        raise UsageError("--unblind needs --study NAME: it exports one study's comparisons with their names")
    if args.unblind and args.rating_pack:
        raise UsageError("--unblind and --rating-pack don't go together: a pack never names a model")
    if args.for_name is not None and not args.rating_pack:
        raise UsageError("--for goes with --rating-pack")


def _confirm(question: str, stdin: IO[str] | None) -> bool:
    """Ask on the terminal (False with no terminal, or any answer but yes)."""
    try:
        if stdin is None or not stdin.isatty():  # no terminal, or standard input closed
            return False
    except (OSError, ValueError):
        return False
    print(question, end="", file=sys.stderr, flush=True)
    try:
        answer = stdin.readline()
    except (OSError, KeyboardInterrupt):
        return False
    return answer.strip().casefold() in ("y", "yes")


def cmd_export(args: Any, stdout: IO[str], stdin: IO[str] | None = None) -> int:
    _check_export_args(args)
    writes = bool(args.rating_pack or args.unblind)
    store = open_store(readonly_ok=not writes)
    try:
        if args.votes:
            doc, problems = _export_votes(args, store, stdin or sys.stdin)
        elif args.study:
            info = find_study(store, args.study)
            if args.rating_pack:
                doc, problems = _export_pack(args, store, info.id, info.name)
            elif args.unblind:
                doc, problems = _export_unblind(store, info.id)
            else:
                doc, problems = export_sessions(store.study_session_ids(info.id), store.load, rater=_me())
        else:
            ids = store.ids() if args.all else _resolve_ids(store, args.ids)
            doc, problems = export_sessions(ids, store.load, rater=_me())
    finally:
        store.close()
    ids = [s["id"] for s in doc["sessions"]]
    text = json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write: {exc.strerror}") from None
        print(f"exported {len(ids)} session{'s' if len(ids) != 1 else ''} to {args.output}", file=sys.stderr)
    else:
        stdout.write(text)
    for problem in problems:
        print(f"chatlab: left out {terminal_text(problem)}", file=sys.stderr)
    return 1 if problems else 0


def _export_votes(args: Any, store: Store, stdin: IO[str] | None) -> tuple[dict[str, Any], list[str]]:
    """The comparisons voted on or rated here, with their votes and ratings (to send back
    to a study's owner): of one study with ``--study``; else of every session, asking
    first before interactive sessions go too (``--all`` includes them without asking)."""
    if args.study:
        ids = store.voted_ids(find_study(store, args.study).id)
    else:
        ids = store.voted_ids()
        chats = store.interactive_ids()
        interactive = [i for i in ids if i in chats]
        n = len(interactive)
        if n and not args.all:
            many = f"{n} interactive session{'s' if n != 1 else ''}"
            if not _confirm(
                f"chatlab: your votes include {many} (not of a study); include them? [y/N] ", stdin
            ):
                raise UsageError(
                    f"your votes include {many}, not of a study: add --all to send them too, "
                    "or --study NAME to send one study's votes"
                )
    me = _me()
    doc, problems = export_sessions(ids, store.load, rater=me)
    if me is not None:
        _only_mine(doc, me)
    return doc, problems


def _only_mine(doc: dict[str, Any], me: str) -> None:
    """In each comparison where this rater voted or rated, their votes and ratings only:
    a pack comes back with one person's. One they didn't judge keeps the votes imported
    into it (a pack of a pack: what its rater sent is passed on to the owner)."""
    from chatlab.core.data.votes import rater_id_of

    for session in doc["sessions"]:
        marks = [
            *(v for t in session["turns"] for v in t.get("votes") or []),
            *(r for t in session["turns"] for a in t.get("responses") or [] for r in a.get("ratings") or []),
        ]
        if not any(rater_id_of(m) == me for m in marks):
            continue
        for turn in session["turns"]:
            turn["votes"] = [v for v in turn.get("votes") or [] if rater_id_of(v) == me]
            for answer in turn.get("responses") or []:
                answer["ratings"] = [r for r in answer.get("ratings") or [] if rater_id_of(r) == me]


def _me() -> str | None:
    """This installation's rater id, whose vote unmasks a blind turn for an export (an
    import, like a vote, makes it: another rater's merged votes never unmask the
    owner's). None before it has one: then any vote does, as before rater ids."""
    return load_config().rater_id


def _export_pack(args: Any, store: Store, study_id: str, name: str) -> tuple[dict[str, Any], list[str]]:
    from chatlab.core.studies.packs import rating_pack

    damaged: list[str] = []
    made_for = clean_name(args.for_name) if args.for_name else None
    pack = rating_pack(store.study_sessions(study_id, damaged), name, for_name=made_for)
    try:
        store.remember_pack(pack.mapping, pack.id, study_id, pack.created_at, pack.made_for)
    except (sqlite3.Error, OSError) as exc:
        raise UsageError(f"{explain(store, exc)}; no pack was written") from None
    packed = pack.doc["sessions"][0]["study"]["name"] if pack.doc["sessions"] else name
    if packed != name:
        print(f"chatlab: the study's name names a model, so the pack calls it {packed!r}", file=sys.stderr)
    if pack.dropped_for:
        print(
            "chatlab: the name given with --for could name a model, so the pack leaves it out",
            file=sys.stderr,
        )
    if pack.left_out:
        # Not a problem with the file: the pack is all that is ready to rate now.
        print(f"chatlab: {pack.left_out_text()}", file=sys.stderr)
    return pack.doc, damaged


def _export_unblind(store: Store, study_id: str) -> tuple[dict[str, Any], list[str]]:
    """A study's comparisons with their names, the blind ones not yet voted on too
    (``--unblind``): each is marked sighted for this rater before the file is written,
    so the votes they cast on them later are not counted as blind."""
    rater = local_rater(store)
    doc, problems = export_sessions(store.study_session_ids(study_id), store.load, unblind=True)
    turns = [t["id"] for s in doc["sessions"] for t in s["turns"]]
    unvoted = sum(1 for s in doc["sessions"] if s["blind"] and s["turns"] and not s["turns"][-1]["votes"])
    try:
        store.mark_sighted(turns, rater.id)
    except (sqlite3.Error, OSError) as exc:
        raise UsageError(f"{explain(store, exc)}; nothing was exported") from None
    n = len(doc["sessions"])
    print(
        f"chatlab: this file names the models of {n} comparison{'s' if n != 1 else ''} "
        f"({unvoted} not voted on yet): your votes on them from now on are sighted, "
        "left out of chatlab stats unless --include-sighted",
        file=sys.stderr,
    )
    return doc, problems


def cmd_import(args: Any, stdout: IO[str]) -> int:
    path = Path(args.file)
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"), parse_constant=_no_constant)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); nothing was imported") from None
    except RecursionError:
        raise UsageError(f"{path}: not a session document: nested too deeply; nothing was imported") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON: {exc}; nothing was imported") from None
    try:
        sessions = parse_document(doc)
    except DocumentError as exc:
        raise UsageError(f"{path}: {exc}; nothing was imported") from None
    store = open_store()
    try:
        owner = local_rater(store)
        result = store.import_document(sessions, pack_created_at(doc), owner.id)
    except DocumentError as exc:
        raise UsageError(f"{path}: {exc}; nothing was imported") from None
    except StoreError as exc:  # a comparison a newer pack would update can't be read back
        raise UsageError(f"{exc}; nothing was imported") from None
    except (sqlite3.Error, OSError) as exc:
        raise UsageError(f"{explain(store, exc)}; nothing was imported") from None
    finally:
        store.close()
    added = result.added
    skipped = len(sessions) - added
    merged = ""
    if result.votes or result.ratings:
        merged = (
            f"; merged {result.votes} vote{'s' if result.votes != 1 else ''} and "
            f"{result.ratings} rating{'s' if result.ratings != 1 else ''} from other raters"
        )
    pack = ""
    if result.updated:
        pack += f"; updated {_count(result.updated, 'comparison')} to this newer pack's answers"
    if result.kept:
        pack += f"; kept {_count(result.kept, 'comparison')} as before: voted on or rated already"
    if result.older:
        pack += (
            f"; this pack is older than one imported before: {_count(result.older, 'comparison')} "
            "left as they are"
        )
    stdout.write(
        f"imported {added} session{'s' if added != 1 else ''}"
        + (f" ({skipped} already present)" if skipped else "")
        + pack
        + merged
        + "\n"
    )
    return 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")
