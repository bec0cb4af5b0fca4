"""The model-list cache under attack: whatever sits where a list's file should be (a FIFO,
a link to ``/dev/zero``, a sparse 4 GB file, deep JSON) is ignored at once, never waited
on; ids built to be slow to clean are cut first; a write that fails half-way (a full
disk) or races another writer never leaves a half-written file."""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chatlab.core.settings.config import ProviderConfig
from chatlab.core.settings.model_lists import MAX_ID_CHARS, ModelListCache, clean_models

pytestmark = pytest.mark.hostile

LOCAL = ProviderConfig("lm studio", "openai-chat", base_url="http://localhost:1234/v1", needs_key=False)


def _in_thread(call: Any) -> Any:
    """``call()``'s result, or a failure when it doesn't return within 5 s (a hang)."""
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(call()), daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "reading the cache hung"
    return found[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("what", ["fifo", "dev-zero", "sparse", "folder", "deep"])
def test_whatever_sits_in_a_lists_place_is_ignored_without_waiting(tmp_path: Path, what: str) -> None:
    cache = ModelListCache(tmp_path)
    path = cache.path(LOCAL.name)
    if what == "fifo":
        os.mkfifo(path)  # opening it to read would wait for a writer forever
    elif what == "dev-zero":
        os.symlink("/dev/zero", path)  # size 0, and endless
    elif what == "sparse":
        with path.open("wb") as f:
            f.truncate(4 * 2**30)
    elif what == "folder":
        path.mkdir()
    else:
        path.write_text("[" * 1_000_000 + "]" * 1_000_000)
    assert _in_thread(lambda: cache.get(LOCAL)) is None
    cache.put(LOCAL, ["still-works"])  # replaces the file (a folder stays, and is logged)
    if what != "folder":
        assert _in_thread(lambda: cache.get(LOCAL)).models == ("still-works",)


def test_ids_built_to_be_slow_to_clean_are_cut_first() -> None:
    start = time.perf_counter()
    found = clean_models(["x" * 100_000 + str(i) for i in range(2_000)])
    assert time.perf_counter() - start < 2.0  # was ~13 s: each 100k-character id cleaned whole
    assert found == ("x" * MAX_ID_CHARS,)  # cut to the same prefix, so kept once
    odd = ["\u202eevil\u202c", "a\x1b[31mred\n", "x\ud800y"]
    assert clean_models(odd) == ("evil", "a [31mred", "x\ufffdy")


def test_a_full_disk_keeps_the_old_list_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = ModelListCache(tmp_path)
    cache.put(LOCAL, ["old"], fetched=1_700_000_000.0)

    def full(*_: Any, **__: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(json, "dump", full)
    kept = cache.put(LOCAL, ["new"])
    assert kept.models == ("new",)  # the caller still gets the fresh list
    monkeypatch.undo()
    assert cache.get(LOCAL) is not None and cache.get(LOCAL).models == ("old",)  # type: ignore[union-attr]
    assert [p.name for p in tmp_path.iterdir()] == [cache.path(LOCAL.name).name]
    assert "No space left on device" in caplog.text


def test_a_read_only_folder_is_logged_and_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "models"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert ModelListCache(folder).put(LOCAL, ["a"]).models == ("a",)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_writers_racing_never_leave_a_half_written_list(tmp_path: Path) -> None:
    cache = ModelListCache(tmp_path)
    lists = [[f"model-{w}-{i}" for i in range(3_000)] for w in range(4)]
    stop = threading.Event()
    seen: list[tuple[str, ...] | None] = []

    def write(models: list[str]) -> None:
        for _ in range(15):
            cache.put(LOCAL, models)

    def read() -> None:
        while not stop.is_set():
            got = cache.get(LOCAL)
            seen.append(got.models if got else None)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(m,)) for m in lists]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    whole = {tuple(m) for m in lists}
    assert all(s is None or s in whole for s in seen)  # None only before the first write
    assert seen[-1] in whole and json.loads(cache.path(LOCAL.name).read_text())["version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == [cache.path(LOCAL.name).name]
