"""schema.sql: the schema every migration builds, written out to be read.

``python -m chatlab.store.schema > chatlab/store/schema.sql`` runs every migration on an
empty in-memory database, exactly as opening the store does, and prints what SQLite keeps
of it (``sqlite_master``): each table in the order it was first made, followed by its
indexes and triggers. The shadow tables FTS5 makes for the ``search`` table are its own
business and left out. Nothing reads schema.sql at run time; the migrations
(:mod:`chatlab.store.migrations`) are the source of truth, and a test fails when the
file no longer matches what they build.
"""

from __future__ import annotations

import sqlite3
import sys

from chatlab.store.connection import migrate
from chatlab.store.migrations import LATEST

COMMAND = "python -m chatlab.store.schema > chatlab/store/schema.sql"


def dump(con: sqlite3.Connection) -> str:
    """The schema of ``con``'s database as SQL, one statement per object, in a stable order:
    each table in the order it was made (its first rowid in ``sqlite_master``), then its
    indexes and triggers by name."""
    rows = con.execute(
        "SELECT m.type, m.name, m.sql FROM sqlite_master m "
        "WHERE m.sql IS NOT NULL AND m.name NOT IN (SELECT name FROM pragma_table_list WHERE type = 'shadow') "
        "ORDER BY (SELECT MIN(t.rowid) FROM sqlite_master t WHERE t.tbl_name = m.tbl_name AND t.type = 'table'), "
        "m.type != 'table', m.type, m.name"
    ).fetchall()
    return "".join(f"{sql};\n\n" for _, _, sql in rows)


def built() -> str:
    """What the migrations build on an empty database."""
    con = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for version in range(LATEST):
            migrate(con, version)
        return dump(con)
    finally:
        con.close()


def render() -> str:
    """schema.sql's text: a header saying what it is, then :func:`built`."""
    header = (
        f"-- The session database's schema (version {LATEST}, SQLite's user_version), as every\n"
        "-- migration builds it on an empty database. Generated: do not edit. Regenerate with\n"
        f"--     {COMMAND}\n"
        "-- The migrations in chatlab/store/migrations.py remain the source of truth; this file\n"
        "-- is for reading (nothing loads it) and a test fails when it no longer matches them.\n"
        "-- FTS5's shadow tables of the search table are left out.\n\n"
    )
    return header + built().rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
