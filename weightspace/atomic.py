"""Writing outputs safely: atomically, honouring the umask, and never replacing what weightspace did not write.

Files and folders are written to a hidden temporary sibling, then renamed over the target: a kill at any
point leaves either the old target or the new one, never a partial one. Every folder weightspace writes
carries a marker file (``MARKER``); ``--overwrite`` replaces only a folder with that marker (or an empty
one), never a user's folder, the current folder or one of its parents. A killed run's temporary sibling
is removed by the next write to the same target.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Iterator

from weightspace import __version__
from weightspace.errors import OutputError

MARKER = ".weightspace-output"
# a checkpoint folder written before the marker existed is recognised by its metadata file (checkpoint.py)
_CHECKPOINT_SIGNATURE = ("weightspace.json", "weightspace-checkpoint")
_TEMP_TAG = ".ws-"  # temporary siblings are named .<target>.ws-<pid>-<random>.tmp
_DESTINATION_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the destination's disk"
    return exc.strerror or str(exc)


def is_ours(folder: str | os.PathLike) -> bool:
    """True for a real folder (not a symlink) that weightspace wrote: it holds ``MARKER``, or it is a
    checkpoint folder from before the marker (its ``weightspace.json`` says so)."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return False
    if (folder / MARKER).is_file():
        return True
    name, fmt = _CHECKPOINT_SIGNATURE
    try:
        return json.loads((folder / name).read_text(encoding="utf-8")).get("format") == fmt
    except (OSError, ValueError, AttributeError):
        return False


def check_parent(target: str | os.PathLike) -> None:
    """Create ``target``'s parent folders; a parent that is a file (or unreachable) -> OutputError naming it."""
    target = Path(target)
    for parent in reversed(target.absolute().parents):
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"{target}: cannot write here, parent {parent} is a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{target}: cannot create its folder ({_why(exc)})") from None


def check_replaceable(target: str | os.PathLike) -> None:
    """Refuse (OutputError) to replace ``target`` unless it is a folder weightspace wrote, or an empty one."""
    target = Path(target)
    try:
        real = target.resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        raise OutputError(f"{target}: is a symlink loop (refusing to replace it)") from None
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise OutputError(f"{target}: is the current folder or one of its parents (refusing to replace it)")
    if real == Path.home().resolve():
        raise OutputError(f"{target}: is the home folder (refusing to replace it)")
    if target.is_symlink():
        raise OutputError(f"{target}: is a symlink (refusing to replace it; give the real folder)")
    if not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder weightspace wrote (refusing to replace it)")
    if not is_ours(target) and any(target.iterdir()):
        raise OutputError(f"{target}: is not a folder weightspace wrote (no {MARKER} marker; refusing to replace it; "
                          f"choose another output, or if weightspace did write it: touch {target / MARKER})")


def claim_dir(folder: str | os.PathLike) -> Path:
    """Make ``folder`` a weightspace output written in place (a run folder that resumes): create it with the
    marker, or accept it when it is ours or empty; a user's non-empty folder -> OutputError."""
    folder = Path(folder)
    if folder.exists() or folder.is_symlink():
        try:
            real = folder.resolve(strict=True)
        except (OSError, RuntimeError):
            raise OutputError(f"{folder}: is a symlink loop or dangling symlink") from None
        if not real.is_dir():
            raise OutputError(f"{folder}: exists and is not a folder")
        if not is_ours(real) and any(real.iterdir()):
            raise OutputError(f"{folder}: holds files weightspace did not write (no {MARKER} marker); choose an "
                              f"empty or new output folder, or if weightspace did write it: touch {folder / MARKER}")
    else:
        check_parent(folder)
        folder.mkdir(exist_ok=True)
    _write_marker(folder)
    return folder


def _write_marker(folder: Path) -> None:
    if not (folder / MARKER).is_file():
        (folder / MARKER).write_text(f"written by weightspace {__version__}\n", encoding="utf-8")


def _remove_stale_temps(target: Path) -> None:
    """Remove temporary siblings of ``target`` left by killed processes (their pid no longer runs)."""
    prefix = f".{target.name}{_TEMP_TAG}"
    try:
        siblings = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for p in siblings:
        pid = p.name[len(prefix):].partition("-")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if p.is_dir() and not p.is_symlink():
            if is_ours(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.rmdir()  # an empty folder that was replaced
        else:
            p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _temp_name(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}{_TEMP_TAG}{os.getpid()}-{secrets.token_hex(4)}.{kind}")


@contextlib.contextmanager
def _naming_the_target(target: Path, tmp: Path) -> Iterator[None]:
    """An OSError about the temporary sibling (or a full disk) is reported under the real output path."""
    try:
        yield
    except OSError as exc:
        named = exc.filename is not None and str(exc.filename).startswith(str(tmp))
        if named or (exc.filename is None and exc.errno in _DESTINATION_ERRNOS):
            raise OutputError(f"{target}: cannot write ({_why(exc)})") from exc
        raise


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary file path next to ``target``; on success it is renamed onto ``target``."""
    target = Path(target)
    check_parent(target)
    if target.is_dir() and not target.is_symlink():
        raise OutputError(f"{target}: is a folder, expected a file path")
    _remove_stale_temps(target)
    tmp = _temp_name(target, "tmp")
    try:
        with _naming_the_target(target, tmp):
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies, as for open()
            yield tmp
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        if not overwrite and target.exists():
            raise FileExistsError(target)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory next to ``target``; on success it becomes ``target`` (with ``MARKER``).

    With ``overwrite`` an existing folder is replaced only if ``check_replaceable`` allows it (checked
    before and after the work), and only after the new one is complete. Without it an existing target
    raises FileExistsError.
    """
    target = Path(target)
    check_parent(target)
    if overwrite and (target.exists() or target.is_symlink()):
        check_replaceable(target)  # fail before the work, not after it
    _remove_stale_temps(target)
    tmp = _temp_name(target, "tmp")
    try:
        with _naming_the_target(target, tmp):
            tmp.mkdir()  # not mkdtemp: its 0700 would ignore the umask
            _write_marker(tmp)
            yield tmp
        if target.exists() or target.is_symlink():
            if not overwrite:
                raise FileExistsError(target)
            check_replaceable(target)
            old = _temp_name(target, "old")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike, obj, *, indent: int = 2) -> None:
    write_text(target, json.dumps(obj, indent=indent, sort_keys=False) + "\n")
