-- The session database's schema (version 16, SQLite's user_version), as every
-- migration builds it on an empty database. Generated: do not edit. Regenerate with
--     python -m chatlab.store.schema > chatlab/store/schema.sql
-- The migrations in chatlab/store/migrations.py remain the source of truth; this file
-- is for reading (nothing loads it) and a test fails when it no longer matches them.
-- FTS5's shadow tables of the search table are left out.

CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    , blind INTEGER NOT NULL DEFAULT 0, study_id TEXT, study_prompt TEXT, study_sample INTEGER, study_tags TEXT, show_reasoning INTEGER NOT NULL DEFAULT 0);

CREATE UNIQUE INDEX sessions_study ON sessions(study_id, study_prompt, study_sample)
        WHERE study_id IS NOT NULL;

CREATE TABLE lanes (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}'
    , retired INTEGER NOT NULL DEFAULT 0, placebo INTEGER NOT NULL DEFAULT 0);

CREATE INDEX lanes_session ON lanes(session_id, position);

CREATE TABLE turns (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        prompt TEXT NOT NULL,
        created_at TEXT NOT NULL
    , shown_order TEXT, to_rate INTEGER NOT NULL DEFAULT 0);

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
        updated_at TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (turn_id, lane_id)
    );

CREATE VIRTUAL TABLE search USING fts5(
        session_id UNINDEXED, turn_id UNINDEXED, lane_id UNINDEXED, kind UNINDEXED, body,
        tokenize = 'unicode61 remove_diacritics 2'
    );

CREATE TABLE search_map (
        session_id TEXT NOT NULL,
        turn_id TEXT NOT NULL,
        lane_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        fts_rowid INTEGER NOT NULL,
        PRIMARY KEY (turn_id, lane_id, kind)
    );

CREATE INDEX search_map_session ON search_map(session_id);

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

CREATE TABLE "votes" (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        rater TEXT NOT NULL DEFAULT '',
        repeat INTEGER NOT NULL DEFAULT 0,
        choice TEXT NOT NULL,
        guessed TEXT,
        shown_order TEXT,
        voted_at TEXT NOT NULL,
        seconds_to_vote REAL, sighted INTEGER NOT NULL DEFAULT 0, judgement TEXT,
        PRIMARY KEY (turn_id, rater, repeat)
    );

CREATE TABLE "ratings" (
        turn_id TEXT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        lane_id TEXT NOT NULL REFERENCES lanes(id) ON DELETE CASCADE,
        rater TEXT NOT NULL DEFAULT '',
        score INTEGER CHECK (score BETWEEN 1 AND 5),
        note TEXT NOT NULL DEFAULT '',
        rated_at TEXT NOT NULL,
        PRIMARY KEY (turn_id, lane_id, rater)
    );

CREATE TABLE pack_lanes (
        opaque TEXT PRIMARY KEY,
        lane_id TEXT NOT NULL REFERENCES lanes(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL
    , pack_id TEXT);

CREATE INDEX pack_lanes_lane ON pack_lanes(lane_id);

CREATE INDEX pack_lanes_pack ON pack_lanes(pack_id);

CREATE TABLE raters (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL
    );

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
