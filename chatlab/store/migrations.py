"""Append-only schema migrations for the session database.

``MIGRATIONS[i]`` takes a database from schema version ``i`` to ``i + 1``; the version
lives in SQLite's ``user_version``. Never edit or reorder an entry that has shipped:
add a new one. Every upgrade path, from an empty file and from each past version, is
exercised by the tests. schema.sql shows what they build, for reading; after adding one,
regenerate it with ``python -m chatlab.store.schema > chatlab/store/schema.sql``.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 0 -> 1: sessions, lanes, turns and responses.
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE lanes (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX lanes_session ON lanes(session_id, position);
    CREATE TABLE turns (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        prompt TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX turns_session ON turns(session_id, position);
    CREATE TABLE responses (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        lane_id TEXT NOT NULL REFERENCES lanes(id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        reasoning TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        refusal INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        usage TEXT NOT NULL DEFAULT '{}',
        cost_usd REAL,
        cost_source TEXT,
        price TEXT,
        timing TEXT NOT NULL DEFAULT '{}',
        finish_reason TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (turn_id, lane_id)
    );
    """,
    # 1 -> 2: blind sessions, the order lanes were shown in, ratings and votes.
    """
    ALTER TABLE sessions ADD COLUMN blind INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE turns ADD COLUMN shown_order TEXT;
    CREATE TABLE ratings (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        lane_id TEXT NOT NULL REFERENCES lanes(id) ON DELETE CASCADE,
        score INTEGER CHECK (score BETWEEN 1 AND 5),
        note TEXT NOT NULL DEFAULT '',
        rater TEXT NOT NULL DEFAULT '',
        rated_at TEXT NOT NULL,
        PRIMARY KEY (turn_id, lane_id)
    );
    CREATE TABLE votes (
        turn_id TEXT PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
        choice TEXT NOT NULL,
        guess_reasoner TEXT,
        rater TEXT NOT NULL DEFAULT '',
        voted_at TEXT NOT NULL
    );
    """,
    # 2 -> 3: full-text search over prompts and answers.
    """
    CREATE VIRTUAL TABLE search USING fts5(
        session_id UNINDEXED, turn_id UNINDEXED, lane_id UNINDEXED, kind UNINDEXED, body,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO search (session_id, turn_id, lane_id, kind, body)
        SELECT session_id, id, '', 'prompt', prompt FROM turns;
    INSERT INTO search (session_id, turn_id, lane_id, kind, body)
        SELECT t.session_id, r.turn_id, r.lane_id, 'answer', r.text
        FROM responses r JOIN turns t ON t.id = r.turn_id WHERE r.text != '';
    """,
    # 3 -> 4: an index from (turn, lane, kind) to search rows. FTS5's UNINDEXED columns are
    # not indexed, so finding a response's search row meant scanning the whole index.
    """
    CREATE TABLE search_map (
        session_id TEXT NOT NULL,
        turn_id TEXT NOT NULL,
        lane_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        fts_rowid INTEGER NOT NULL,
        PRIMARY KEY (turn_id, lane_id, kind)
    );
    CREATE INDEX search_map_session ON search_map(session_id);
    INSERT OR REPLACE INTO search_map (session_id, turn_id, lane_id, kind, fts_rowid)
        SELECT session_id, turn_id, lane_id, kind, rowid FROM search;
    """,
    # 4 -> 5: what chatlab noted about a response (usage it dropped, a revised final text)
    # and the attempts it retried, as one JSON object so later additions need no migration.
    """
    ALTER TABLE responses ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
    """,
    # 5 -> 6: lanes that wrote answers, then were removed or changed, keep their answers.
    """
    ALTER TABLE lanes ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
    """,
    # 6 -> 7: a blind guess names every lane the rater thinks reasoned (a JSON list; NULL
    # = no guess). Older single guesses are carried over as one-lane lists.
    """
    ALTER TABLE votes ADD COLUMN guessed TEXT;
    UPDATE votes SET guessed = json_array(guess_reasoner) WHERE guess_reasoner IS NOT NULL;
    """,
    # 7 -> 8: studies (one run of a suite, with a snapshot of it) and, on each session that
    # is one of its comparisons, the suite prompt and the sample it answers. The unique
    # index makes a comparison impossible to create twice, even by two resumes at once.
    """
    CREATE TABLE studies (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        suite TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'new',
        reveal TEXT NOT NULL DEFAULT 'end',
        extra TEXT NOT NULL DEFAULT '{}'
    );
    ALTER TABLE sessions ADD COLUMN study_id TEXT;
    ALTER TABLE sessions ADD COLUMN study_prompt TEXT;
    ALTER TABLE sessions ADD COLUMN study_sample INTEGER;
    ALTER TABLE sessions ADD COLUMN study_tags TEXT;
    CREATE UNIQUE INDEX sessions_study ON sessions(study_id, study_prompt, study_sample)
        WHERE study_id IS NOT NULL;
    """,
    # 8 -> 9: several raters. A vote is keyed by (turn, rater, repeat) and keeps the order
    # its rater saw the answers in and how long they took; a hidden repeat (the same
    # comparison shown again later, for test-retest reliability) is a vote of its own. A
    # rating is keyed by (turn, lane, rater). Existing votes keep their turn's shown order.
    """
    CREATE TABLE votes_v9 (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        rater TEXT NOT NULL DEFAULT '',
        repeat INTEGER NOT NULL DEFAULT 0,
        choice TEXT NOT NULL,
        guessed TEXT,
        shown_order TEXT,
        voted_at TEXT NOT NULL,
        seconds_to_vote REAL,
        PRIMARY KEY (turn_id, rater, repeat)
    );
    INSERT INTO votes_v9 (turn_id, rater, repeat, choice, guessed, shown_order, voted_at)
        SELECT v.turn_id, v.rater, 0, v.choice, v.guessed, t.shown_order, v.voted_at
        FROM votes v JOIN turns t ON t.id = v.turn_id;
    DROP TABLE votes;
    ALTER TABLE votes_v9 RENAME TO votes;
    CREATE TABLE ratings_v9 (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        lane_id TEXT NOT NULL REFERENCES lanes(id) ON DELETE CASCADE,
        rater TEXT NOT NULL DEFAULT '',
        score INTEGER CHECK (score BETWEEN 1 AND 5),
        note TEXT NOT NULL DEFAULT '',
        rated_at TEXT NOT NULL,
        PRIMARY KEY (turn_id, lane_id, rater)
    );
    INSERT INTO ratings_v9 (turn_id, lane_id, rater, score, note, rated_at)
        SELECT turn_id, lane_id, rater, score, note, rated_at FROM ratings;
    DROP TABLE ratings;
    ALTER TABLE ratings_v9 RENAME TO ratings;
    """,
    # 9 -> 10: rating packs. A pack gives each lane a fresh opaque id; the owner keeps
    # which real lane it stands for, so votes coming back merge onto the real lanes.
    """
    CREATE TABLE pack_lanes (
        opaque TEXT PRIMARY KEY,
        lane_id TEXT NOT NULL REFERENCES lanes(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL
    );
    CREATE INDEX pack_lanes_lane ON pack_lanes(lane_id);
    """,
    # 10 -> 11: a turn of an ordinary session can be marked "to rate": it joins the
    # blind rating queue (``chatlab rate --marked``) like a study comparison.
    """
    ALTER TABLE turns ADD COLUMN to_rate INTEGER NOT NULL DEFAULT 0;
    """,
    # 11 -> 12: a study's placebo twin is marked on its lane, not guessed from its label
    # (a first lane the user labelled "X (placebo)" made the original and its twin one
    # contender). Twins already stored are the lanes that comparisons() made them: in a
    # study whose suite snapshot says placebo, each comparison's last active lane, a copy
    # of its first (provider, model, parameters) labelled "… (placebo)".
    """
    ALTER TABLE lanes ADD COLUMN placebo INTEGER NOT NULL DEFAULT 0;
    UPDATE lanes SET placebo = 1 WHERE id IN (
        SELECT l.id FROM lanes l
        JOIN sessions s ON s.id = l.session_id
        JOIN studies st ON st.id = s.study_id
        WHERE l.retired = 0
            AND substr(l.label, -10) = ' (placebo)'
            AND json_type(CASE WHEN json_valid(st.suite) THEN st.suite ELSE '{}' END, '$.placebo') = 'true'
            AND l.position = (
                SELECT MAX(x.position) FROM lanes x WHERE x.session_id = l.session_id AND x.retired = 0
            )
            AND EXISTS (
                SELECT 1 FROM lanes f
                WHERE f.session_id = l.session_id AND f.retired = 0 AND f.id != l.id
                    AND f.provider = l.provider AND f.model = l.model AND f.params = l.params
                    AND f.position = (
                        SELECT MIN(y.position) FROM lanes y WHERE y.session_id = l.session_id AND y.retired = 0
                    )
            )
    );
    """,
    # 12 -> 13: rater ids. A vote's or rating's ``rater`` is an id from now on, and
    # ``raters`` gives each id its display name. A name n from before becomes the id
    # 'name:' || n (the owner's own are moved to their installation's id when it is made:
    # see Store.claim_rater), so votes, names and statistics are what they were. The ids
    # are made in two steps, through a prefix no name has, so that "ann" becoming
    # "name:ann" never meets a rater who was literally called "name:ann" (a key clash).
    """
    CREATE TABLE raters (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL
    );
    INSERT OR IGNORE INTO raters (id, name) SELECT DISTINCT 'name:' || rater, rater FROM votes;
    INSERT OR IGNORE INTO raters (id, name) SELECT DISTINCT 'name:' || rater, rater FROM ratings;
    UPDATE votes SET rater = char(1) || rater;
    UPDATE votes SET rater = 'name:' || substr(rater, 2);
    UPDATE ratings SET rater = char(1) || rater;
    UPDATE ratings SET rater = 'name:' || substr(rater, 2);
    """,
    # 13 -> 14: sighted votes (cast with the models' names showing), the comparisons a
    # rater exported unblinded (their later votes there are sighted), and rating packs:
    # each with its id, its study, when it was made, whom it was made for and the rater
    # id its votes came back from (bound by the first votes file). Each opaque lane now
    # names its pack; a pack from before is recognised by when its lanes were kept (one
    # moment per pack).
    """
    ALTER TABLE votes ADD COLUMN sighted INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE sighted (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        rater TEXT NOT NULL,
        marked_at TEXT NOT NULL,
        PRIMARY KEY (turn_id, rater)
    );
    CREATE TABLE packs (
        id TEXT PRIMARY KEY,
        study_id TEXT,
        created_at TEXT NOT NULL,
        for_name TEXT,
        rater TEXT
    );
    ALTER TABLE pack_lanes ADD COLUMN pack_id TEXT;
    INSERT INTO packs (id, study_id, created_at)
        SELECT 'before:' || p.created_at, MIN(s.study_id), p.created_at
        FROM pack_lanes p JOIN lanes l ON l.id = p.lane_id JOIN sessions s ON s.id = l.session_id
        GROUP BY p.created_at;
    UPDATE pack_lanes SET pack_id = 'before:' || created_at;
    CREATE INDEX pack_lanes_pack ON pack_lanes(pack_id);
    """,
    # 14 -> 15: a blind session that shows each lane's reasoning before the vote (the
    # guess is then about the thinking; see Session.show_reasoning).
    """
    ALTER TABLE sessions ADD COLUMN show_reasoning INTEGER NOT NULL DEFAULT 0;
    """,
    # 15 -> 16: a judge model as a rater. A judge's vote keeps how it was reached
    # (``judgement``, JSON); each order a judge was sent is a row of ``judge_calls`` the
    # moment it ends (its verdict text, the choice read from it or why none, usage,
    # cost), so a run stopped at any moment resumes with the orders still missing, and
    # the judge's spend is every call's cost, once. ``seen`` fingerprints the answers
    # judged: a comparison whose answers changed is judged again.
    """
    ALTER TABLE votes ADD COLUMN judgement TEXT;
    CREATE TABLE judge_calls (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        rater TEXT NOT NULL,
        seen TEXT NOT NULL,
        position INTEGER NOT NULL,
        shown_order TEXT NOT NULL,
        raw TEXT NOT NULL DEFAULT '',
        choice TEXT,
        problem TEXT,
        scores TEXT,
        usage TEXT,
        cost_usd REAL,
        judged_at TEXT NOT NULL,
        PRIMARY KEY (turn_id, rater, seen, position)
    );
    """,
]

LATEST = len(MIGRATIONS)
