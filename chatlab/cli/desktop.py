"""``chatlab --install-desktop`` and ``--uninstall-desktop``: menu entry and icons for
pip and pipx users.

A wheel can't put files in the desktop's data folders, so this does it on request: the
``.desktop`` entry (its ``Exec`` pointing at the command that ran, by absolute path, since
a desktop session may not have ``~/.local/bin`` on its PATH), the AppStream metainfo and
the icons at every size go under ``$XDG_DATA_HOME`` (``~/.local/share`` by default; a
relative value is ignored, as the XDG spec says). Each file is written to a temporary
name and renamed into place, so a symlink planted at a target is replaced, never
followed. The desktop entry carries a marker key; uninstall removes only files that are
ours (a desktop entry without the marker is left alone and named). Refreshing the menu
and icon caches is best effort.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from chatlab.core.data.resources import resources_dir
from chatlab.core.data.safety import terminal_text

APP_ID = "io.github.chatlab.Chatlab"
MARKER = "X-Chatlab-Installed-By"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


class DesktopError(Exception):
    """The desktop files could not be installed or removed; the message says where."""


def linux_dir() -> Path:
    """The shipped ``.desktop`` and metainfo files, in a wheel, a bundle or a checkout."""
    installed = resources_dir() / "linux"
    if installed.is_dir():
        return installed
    return resources_dir().parent / "packaging" / "linux"


def data_home(env: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` when it is absolute, else ``<home>/.local/share``, where the
    home is ``$HOME`` when that is absolute and not ``/``, else the account's own."""
    env = dict(os.environ) if env is None else env
    value = env.get("XDG_DATA_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    home = env.get("HOME", "")
    if not home or not Path(home).is_absolute() or Path(home) == Path("/"):
        import pwd

        home = pwd.getpwuid(os.getuid()).pw_dir
    return Path(home) / ".local" / "share"


def command_line() -> list[str]:
    """How the menu entry starts this chatlab: the bundle's executable, the installed
    ``chatlab`` script, or this Python with ``-P -m chatlab``."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "chatlab":
        found = script if script.is_absolute() or "/" in str(script) else shutil.which(str(script))
        if found is not None and Path(found).is_file() and os.access(found, os.X_OK):
            return [str(Path(found).absolute())]
    # -P: don't put the working directory on sys.path (a stray chatlab.py there must not run)
    return [str(Path(sys.executable).absolute()), "-P", "-m", "chatlab"]


def exec_quote(arg: str) -> str:
    """One argument of a desktop entry's ``Exec`` key, quoted as the spec asks: inside
    double quotes, ``"``, `````, ``$`` and ``\\`` are escaped with a backslash; the
    value is then escaped once more as a string value (``\\`` becomes ``\\\\``), and a
    literal ``%`` is written ``%%``."""
    plain = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,=:@")
    if arg and set(arg) <= plain:
        quoted = arg
    else:
        inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
        quoted = f'"{inner}"'
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def targets(home: Path) -> Iterator[tuple[Path, Path | None]]:
    """Every (destination, source) pair; the desktop entry's source is None (generated).
    The entry comes last, so a failed install never leaves a menu entry without its icon."""
    yield home / "metainfo" / f"{APP_ID}.metainfo.xml", linux_dir() / f"{APP_ID}.metainfo.xml"
    icons = resources_dir() / "icons" / "hicolor"
    yield (
        home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
        icons / "scalable" / "apps" / f"{APP_ID}.svg",
    )
    yield (
        home / "icons" / "hicolor" / "symbolic" / "apps" / f"{APP_ID}-symbolic.svg",
        icons / "symbolic" / "apps" / f"{APP_ID}-symbolic.svg",
    )
    for n in SIZES:
        rel = Path(f"{n}x{n}") / "apps" / f"{APP_ID}.png"
        yield home / "icons" / "hicolor" / rel, icons / rel
    yield home / "applications" / f"{APP_ID}.desktop", None


def check_command(command: list[str]) -> None:
    """Refuse a command a menu entry can't hold: control characters, bytes that aren't
    UTF-8, or a ``%`` (valid once escaped, but GLib's launchers won't load such an entry)."""
    for arg in command:
        shown = terminal_text(repr(arg))
        if any(ch < " " or ch == "\x7f" for ch in arg):
            raise DesktopError(
                f"the command path {shown} has a control character; a menu entry can't hold it"
            )
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise DesktopError(
                f"the command path {shown} is not valid UTF-8; a menu entry can't hold it"
            ) from None
        if "%" in arg:
            raise DesktopError(
                f"the command path {shown} has a '%', which desktop launchers can't start; "
                "move chatlab to a folder without one"
            )


def desktop_entry(command: list[str]) -> str:
    """The shipped entry with ``Exec``/``TryExec`` naming ``command`` (checked by
    :func:`check_command` first) and chatlab's marker."""
    template = (linux_dir() / f"{APP_ID}.desktop").read_text("utf-8")
    lines = []
    for line in template.splitlines():
        if line.startswith(("Exec=", "TryExec=")):
            key = line.split("=", 1)[0]
            if key == "TryExec":
                line = f"TryExec={command[0].replace('\\', '\\\\')}"
            else:
                line = "Exec=" + " ".join(exec_quote(a) for a in command)
        lines.append(line)
        if line.strip() == "[Desktop Entry]":
            lines.append(f"{MARKER}=chatlab --install-desktop")
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes) -> None:
    """Write to a fresh, uniquely named file beside ``path`` (created exclusively, so a
    symlink or FIFO planted there is never followed), then rename it into place."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".chatlab-tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)
            f.write(data)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def _refresh(home: Path) -> None:
    for cmd in (
        ["update-desktop-database", "-q", str(home / "applications")],
        ["gtk-update-icon-cache", "-q", "-t", "-f", str(home / "icons" / "hicolor")],
    ):
        if shutil.which(cmd[0]) is None:
            continue
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(cmd, capture_output=True, timeout=20, check=False)


def is_ours(entry: Path) -> bool:
    try:
        return not entry.is_symlink() and f"\n{MARKER}=" in entry.read_text("utf-8", errors="replace")
    except OSError:
        return False


def install(home: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Install the metainfo, the icons and then the menu entry; return what was written."""
    home = data_home() if home is None else home
    command = command_line() if command is None else command
    check_command(command)
    written: list[Path] = []
    for dest, source in targets(home):
        try:
            data = desktop_entry(command).encode() if source is None else source.read_bytes()
        except OSError as exc:
            missing = f"chatlab's own desktop files are missing ({exc.strerror}): {exc.filename}"
            raise DesktopError(missing) from None
        try:
            _write(dest, data)
        except OSError as exc:
            raise DesktopError(f"can't write {dest}: {exc.strerror or exc}") from None
        written.append(dest)
    _refresh(home)
    return written


def uninstall(home: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Remove what :func:`install` wrote, the menu entry first; return (removed, left
    because not ours)."""
    home = data_home() if home is None else home
    removed: list[Path] = []
    kept: list[Path] = []
    for dest, source in sorted(targets(home), key=lambda t: t[1] is not None):
        if not dest.is_file() and not dest.is_symlink():
            continue
        if source is None and not is_ours(dest):
            kept.append(dest)
            continue
        try:
            dest.unlink(missing_ok=True)  # another uninstall may have been quicker
        except OSError as exc:
            raise DesktopError(f"can't remove {dest}: {exc.strerror or exc}") from None
        removed.append(dest)
    _refresh(home)
    return removed, kept


def cmd_desktop(remove: bool, out: TextIO, err: TextIO) -> int:
    def say(text: str, stream: TextIO) -> None:
        print(terminal_text(text), file=stream)

    try:
        if remove:
            removed, kept = uninstall()
            for path in kept:
                say(f"left {path}: it was not installed by chatlab", err)
            files = "file" if len(removed) == 1 else "files"
            say(f"Removed {len(removed)} {files}." if removed else "Nothing to remove.", out)
            return 0
        home = data_home()
        entry = home / "applications" / f"{APP_ID}.desktop"
        foreign = (entry.exists() or entry.is_symlink()) and not is_ours(entry)
        command = command_line()
        written = install(home, command)
    except DesktopError as exc:
        say(f"chatlab: {exc}", err)
        if not remove:
            say(
                "What was written before that stays; remove it with: chatlab --uninstall-desktop",
                err,
            )
        return 1
    if foreign:
        say(f"replaced {entry}, which was not chatlab's", err)
    say(f"Installed the menu entry {entry}, its metainfo and {len(written) - 2} icons.", out)
    say("chatlab is in your app menu now (under Science); some desktops show it after a new login.", out)
    say(f"It starts: {' '.join(exec_quote(a) for a in command)}", out)
    if getattr(sys, "frozen", False):
        say("It points at this folder: if you move the folder, run --install-desktop again.", out)
    say(f"Remove them with: {shlex.join([*command, '--uninstall-desktop'])}", out)
    return 0
