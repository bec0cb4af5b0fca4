"""Desktop integration: the shipped .desktop and metainfo files pass their validators,
the icons are the sizes their folders say, and ``chatlab --install-desktop`` /
``--uninstall-desktop`` write and remove exactly chatlab's files under XDG_DATA_HOME,
under hostile conditions too (a planted symlink, a foreign entry, a relative
XDG_DATA_HOME, a folder that is a file, odd characters in the command's path)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from chatlab import __version__
from chatlab.cli import desktop
from tests.conftest import PYTHON, ROOT, subprocess_env

LINUX = ROOT / "packaging" / "linux"
ENTRY = LINUX / "io.github.chatlab.Chatlab.desktop"
METAINFO = LINUX / "io.github.chatlab.Chatlab.metainfo.xml"


def needs(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install desktop-file-utils appstream)")
    return path


def test_the_desktop_entry_and_metainfo_pass_their_validators(tmp_path: Path) -> None:
    out = subprocess.run([needs("desktop-file-validate"), str(ENTRY)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout
    out = subprocess.run(
        [needs("appstreamcli"), "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout
    assert not re.search(r"^[EW]:", out.stdout, re.M), out.stdout
    # The installed entry (Exec rewritten, marker added) is valid too.
    written = desktop.install(tmp_path, ["/opt/my apps/chatlab"])
    assert written[-1].suffix == ".desktop"  # the entry comes last
    out = subprocess.run([needs("desktop-file-validate"), str(written[-1])], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout


def test_the_metainfo_release_is_this_version_and_its_screenshots_exist() -> None:
    text = METAINFO.read_text("utf-8")
    assert re.findall(r'<release version="([^"]+)"', text)[0] == __version__
    shots = re.findall(r"resources/screenshots/([\w.-]+\.png)", text)
    assert shots and all((ROOT / "resources" / "screenshots" / s).is_file() for s in shots)


def test_every_png_icon_is_the_size_its_folder_names() -> None:
    hicolor = ROOT / "resources" / "icons" / "hicolor"
    for n in desktop.SIZES:
        data = (hicolor / f"{n}x{n}" / "apps" / f"{desktop.APP_ID}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (n, n)
    svg = (hicolor / "scalable" / "apps" / f"{desktop.APP_ID}.svg").read_text("utf-8")
    assert "<svg" in svg and "<text" not in svg and 'href="http' not in svg


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("/usr/bin/chatlab", "/usr/bin/chatlab"),
        ("/opt/my apps/chatlab", '"/opt/my apps/chatlab"'),
        ('/o/a"b', '"/o/a\\\\"b"'),
        ("/o/$HOME", '"/o/\\\\$HOME"'),
        ("/o/back\\slash", '"/o/back\\\\\\\\slash"'),
        ("/o/100%", '"/o/100%%"'),
        ("/o/tick`s", '"/o/tick\\\\`s"'),
    ],
)
def test_exec_arguments_are_quoted_as_the_desktop_spec_asks(arg: str, expected: str) -> None:
    assert desktop.exec_quote(arg) == expected


def run_cli(home: Path, *args: str, xdg: str | None = None) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(home / "chatlab-home")
    env["HOME"] = str(home)
    env.pop("XDG_DATA_HOME", None)
    if xdg is not None:
        env["XDG_DATA_HOME"] = xdg
    return subprocess.run(
        [PYTHON, "-m", "chatlab", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_install_then_uninstall_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = run_cli(tmp_path, "--install-desktop", xdg=str(data))
    assert out.returncode == 0, out.stderr
    assert "--uninstall-desktop" in out.stdout
    entry = data / "applications" / f"{desktop.APP_ID}.desktop"
    text = entry.read_text("utf-8")
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    # This Python with -P -m chatlab (no `chatlab` script ran), by absolute path; -P keeps
    # a stray chatlab.py in the launcher's working directory from running instead.
    assert exec_line == f"Exec={desktop.exec_quote(PYTHON)} -P -m chatlab"
    assert f"It starts: {exec_line.removeprefix('Exec=')}\n" in out.stdout
    assert f"{desktop.MARKER}=" in text
    pngs = sorted((data / "icons" / "hicolor").glob("*x*/apps/*.png"))
    assert len(pngs) == len(desktop.SIZES)
    assert (data / "metainfo" / f"{desktop.APP_ID}.metainfo.xml").read_bytes() == METAINFO.read_bytes()
    out = run_cli(tmp_path, "--uninstall-desktop", xdg=str(data))
    assert out.returncode == 0, out.stderr
    caches = {"mimeinfo.cache", "icon-theme.cache"}  # the desktop's own, rebuilt by its tools
    assert not [p for p in data.rglob("*") if p.is_file() and p.name not in caches]
    out = run_cli(tmp_path, "--uninstall-desktop", xdg=str(data))
    assert out.returncode == 0 and "Nothing to remove" in out.stdout


def test_a_relative_xdg_data_home_is_ignored(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "--install-desktop", xdg="relative/share")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / ".local" / "share" / "applications" / f"{desktop.APP_ID}.desktop").is_file()
    assert not (tmp_path / "relative").exists()


def test_a_planted_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    apps = tmp_path / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / f"{desktop.APP_ID}.desktop").symlink_to(victim)
    desktop.install(tmp_path / "share", ["/usr/bin/chatlab"])
    assert victim.read_text() == "keep me"
    assert not (apps / f"{desktop.APP_ID}.desktop").is_symlink()
    # And uninstall leaves a symlink that isn't ours alone.
    (apps / f"{desktop.APP_ID}.desktop").unlink()
    (apps / f"{desktop.APP_ID}.desktop").symlink_to(victim)
    removed, kept = desktop.uninstall(tmp_path / "share")
    assert kept == [apps / f"{desktop.APP_ID}.desktop"] and victim.read_text() == "keep me"
    assert len(removed) == len(desktop.SIZES) + 3  # metainfo, scalable and symbolic svg


def test_a_foreign_entry_of_the_same_name_is_left_alone(tmp_path: Path) -> None:
    apps = tmp_path / "applications"
    apps.mkdir()
    foreign = apps / f"{desktop.APP_ID}.desktop"
    foreign.write_text("[Desktop Entry]\nType=Application\nName=packaged by my distro\nExec=chatlab\n")
    out = run_cli(tmp_path, "--uninstall-desktop", xdg=str(tmp_path))
    assert out.returncode == 0
    assert "not installed by chatlab" in out.stderr
    assert foreign.read_text().startswith("[Desktop Entry]\nType=Application\nName=packaged by my distro")


def test_a_failed_install_says_why_leaves_no_menu_entry_and_no_temp_file(tmp_path: Path) -> None:
    # An icon's folder is a file: the install stops there, before the menu entry.
    blocked = tmp_path / "icons" / "hicolor" / "64x64"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    out = run_cli(tmp_path, "--install-desktop", xdg=str(tmp_path))
    assert out.returncode == 1
    first, hint = out.stderr.splitlines()
    assert first.startswith(f"chatlab: can't write {blocked}/apps/")
    assert hint.endswith("chatlab --uninstall-desktop")
    assert not (tmp_path / "applications" / f"{desktop.APP_ID}.desktop").exists()
    assert not list(tmp_path.rglob("*.chatlab-tmp"))
    # The entry's own folder is a file.
    blocked.unlink()
    (tmp_path / "applications").write_text("not a folder")
    out = run_cli(tmp_path, "--install-desktop", xdg=str(tmp_path))
    assert out.returncode == 1 and out.stderr.startswith("chatlab: can't write ")
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/tmp/evil\nExec=rm -rf ~", "control character"),
        ("/tmp/bad\udcffdir/chatlab", "not valid UTF-8"),  # a file name that isn't UTF-8
        ("/opt/50%off/chatlab", "'%'"),  # valid escaped, but GLib's launchers refuse it
    ],
)
def test_a_command_path_a_menu_entry_cannot_hold_is_refused_before_writing(
    tmp_path: Path, path: str, reason: str
) -> None:
    with pytest.raises(desktop.DesktopError, match=reason):
        desktop.install(tmp_path, [path])
    assert not list(tmp_path.rglob("*"))


def test_a_symlink_or_fifo_at_a_temporary_name_is_never_followed(tmp_path: Path) -> None:
    import os

    victim = tmp_path / "victim"
    victim.write_text("secret")
    victim.chmod(0o600)
    apps = tmp_path / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / f".{desktop.APP_ID}.desktop.chatlab-tmp").symlink_to(victim)  # the old fixed name
    os.mkfifo(apps / f".{desktop.APP_ID}.desktop.fifo.chatlab-tmp")
    desktop.install(tmp_path / "share", ["/usr/bin/chatlab"])
    assert victim.read_text() == "secret" and (victim.stat().st_mode & 0o777) == 0o600
    entry = apps / f"{desktop.APP_ID}.desktop"
    assert entry.is_file() and not entry.is_symlink()


def test_a_relative_or_empty_home_falls_back_to_the_account_home() -> None:
    import pwd

    account = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".local" / "share"
    assert desktop.data_home({"HOME": "relhome"}) == account
    assert desktop.data_home({"HOME": ""}) == account
    assert desktop.data_home({"HOME": "/"}) == account
    assert desktop.data_home({"HOME": "/home/x", "XDG_DATA_HOME": "rel"}) == Path("/home/x/.local/share")


def test_install_and_uninstall_racing_each_other_never_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another uninstall runs just as this install finishes, and another removal runs
    # between this uninstall's check and its unlink: neither is an error.
    import io

    home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    real_refresh = desktop._refresh
    raced: list[bool] = []

    def refresh_then_race(h: Path) -> None:
        if not raced:
            raced.append(True)
            desktop.uninstall(h)  # another process's uninstall, just after the install

    monkeypatch.setattr(desktop, "_refresh", refresh_then_race)
    out, err = io.StringIO(), io.StringIO()
    assert desktop.cmd_desktop(False, out, err) == 0, err.getvalue()
    assert "It starts:" in out.getvalue()
    monkeypatch.setattr(desktop, "_refresh", real_refresh)
    desktop.install(home, ["/usr/bin/chatlab"])
    real_unlink = Path.unlink

    def unlink_twice(self: Path, missing_ok: bool = False) -> None:
        real_unlink(self, missing_ok=True)
        real_unlink(self, missing_ok=missing_ok)  # as if a second process removed it first

    monkeypatch.setattr(Path, "unlink", unlink_twice)
    removed, kept = desktop.uninstall(home)
    assert kept == [] and len(removed) == len(desktop.SIZES) + 4


def test_the_flags_refuse_a_subcommand_and_each_other(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "--install-desktop", "sessions", xdg=str(tmp_path))
    assert out.returncode == 2 and "take no subcommand" in out.stderr
    out = run_cli(tmp_path, "--install-desktop", "--uninstall-desktop", xdg=str(tmp_path))
    assert out.returncode == 2 and "not allowed with" in out.stderr
