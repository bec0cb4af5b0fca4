"""Benchmark: the session store at scale, and opening a large session in the window.

Builds a temporary database with 10,000 small sessions plus one session of 200 turns x 8
lanes (about 600-character answers with some reasoning), then measures:
- opening the large session: ``Store.load`` plus showing it in the real window (offscreen);
- FTS5 search across all 10,000 sessions (median of several queries);
- ``Store.sessions()`` (the sidebar list).

Text uses a Zipf-like 5,000-word vocabulary, so queries behave as on prose; the most
common word (in nearly every answer) is timed separately as the worst case.

Targets: open < 300 ms, search < 50 ms. The last line printed is JSON.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatlab.core.data.events import Usage  # noqa: E402
from chatlab.core.data.model import Lane, Response, Session, Status, Timing, Turn  # noqa: E402
from chatlab.core.lab.orchestrator import Runner  # noqa: E402
from chatlab.core.settings.apikeys import KeyStore  # noqa: E402
from chatlab.core.settings.config import parse_config  # noqa: E402
from chatlab.store.db import Store  # noqa: E402

# A Zipf-like vocabulary: a few very common words and a long tail, like prose.
SYLLABLES = ("ka", "lo", "mi", "ren", "tor", "vu", "sel", "dan", "por", "qui", "zen", "har", "bel", "nox")
VOCAB = [a + b + c + d for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES for d in ("", "s")][:5000]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCAB))]


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCAB, WEIGHTS, k=n))


def make_session(rng: random.Random, turns: int, lanes: int, words: int) -> Session:
    session = Session(lanes=[Lane("demo", f"model-{i}") for i in range(lanes)])
    for t in range(turns):
        turn = Turn(prompt=f"question {t}: {text(rng, 12)}")
        for lane in session.lanes:
            resp = Response(lane_id=lane.id, status=Status.OK, usage=Usage(20, 0, words, words // 4))
            resp.text_parts = [text(rng, words) + "."]
            resp.reasoning_parts = [text(rng, words // 4)]
            resp.text_chars = len(resp.text_parts[0])
            resp.reasoning_chars = len(resp.reasoning_parts[0])
            resp.timing = Timing.from_dict({"ttft_s": 0.5, "duration_s": 2.0, "output_tokens_per_s": 50.0})
            turn.responses[lane.id] = resp
        session.turns.append(turn)
    session.title = session.turns[0].prompt[:60]
    return session


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "chatlab.db")
        t = time.perf_counter()
        small = [make_session(rng, 1, 2, 60) for _ in range(10_000)]
        big = make_session(rng, 200, 8, 100)
        store.import_sessions([*small, big])
        build_s = time.perf_counter() - t

        loads = []
        for _ in range(5):
            t = time.perf_counter()
            store.load(big.id)
            loads.append(time.perf_counter() - t)

        from PySide6.QtWidgets import QApplication

        from chatlab.ui.lab.window import MainWindow

        app = QApplication.instance() or QApplication(sys.argv[:1])
        runner = Runner(parse_config({}), KeyStore(), lambda p, k: None)  # type: ignore[arg-type, return-value]
        window = MainWindow(runner, store=store)
        window.resize(1600, 1000)
        window.show()
        app.processEvents()
        opens = []
        for _ in range(3):
            window.new_session()
            app.processEvents()
            t = time.perf_counter()
            window.actions_.open_session(big.id)
            app.processEvents()  # layout and paint
            opens.append(time.perf_counter() - t)
        assert len(window.session.turns) == 200 and len(window.lane_widgets) == 8

        # Typical queries (mid-frequency words) and one very common word (the worst case).
        queries = [VOCAB[300], f"{VOCAB[120]} {VOCAB[450]}", VOCAB[900], "question 150", VOCAB[2000]]
        searches = []
        for q in queries * 3:
            t = time.perf_counter()
            hits = store.search(q)
            searches.append(time.perf_counter() - t)
            assert hits
        t = time.perf_counter()
        store.search(VOCAB[0])
        common_s = time.perf_counter() - t
        t = time.perf_counter()
        listing = store.sessions()
        list_s = time.perf_counter() - t
        assert len(listing) == 10_001
        size_mb = (Path(tmp) / "chatlab.db").stat().st_size / 1e6
        window.close()
        store.close()
    result = {
        "sessions": 10_001,
        "big_session": "200 turns x 8 lanes",
        "build_s": round(build_s, 2),
        "load_big_ms": round(statistics.median(loads) * 1000, 1),
        "open_big_in_window_ms": round(statistics.median(opens) * 1000, 1),
        "search_median_ms": round(statistics.median(searches) * 1000, 2),
        "search_max_ms": round(max(searches) * 1000, 2),
        "search_most_common_word_ms": round(common_s * 1000, 1),
        "list_sessions_ms": round(list_s * 1000, 1),
        "db_mb": round(size_mb, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
