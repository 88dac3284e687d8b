"""Writing output files safely: a clear error for unusable paths, never a torn file.

Every command that writes a file (``--out``) goes through :func:`atomic_output`: the data is
written under a temporary name in the same folder and moved into place with ``os.replace``,
so a crash or a kill leaves either the old file or the new one, never half of one.

An existing file is replaced only when tension provably wrote it: each file it writes carries an
extended attribute with its size and modification time, and a file whose attribute still matches is
unchanged since. Any other file at that path (the user's own, or one edited since) is kept under a
dated name beside it, with an :class:`OutputKeptWarning`, so no command destroys what it did not write.
"""
from __future__ import annotations

import os
import uuid
import warnings
from datetime import datetime, timezone
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UsageError, problem

__all__ = ["atomic_output", "writable_folder", "OutputKeptWarning"]

MARK = "user.tension.written"
"""Extended attribute naming the size and mtime of a file as tension wrote it."""


class OutputKeptWarning(UserWarning):
    """An output path held a file tension did not write; it was kept under another name."""


def _fingerprint(path: Path) -> bytes:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}".encode()


def _mark(path: Path) -> None:
    try:
        os.setxattr(path, MARK, _fingerprint(path))
    except (OSError, AttributeError):  # no xattr support: the file is simply not provably ours
        pass


def written_by_tension(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file tension wrote and nobody changed since."""
    path = Path(path)
    try:
        return os.getxattr(path, MARK) == _fingerprint(path)
    except (OSError, AttributeError):
        return False


def _keep_aside(final: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    kept = final.with_name(f"{final.stem}.kept-{stamp}{final.suffix}")
    os.replace(final, kept)
    warnings.warn(f"{final} was not written by tension (or was changed since), so it was kept as {kept} "
                  "instead of being overwritten.", OutputKeptWarning, stacklevel=4)
    return kept


def writable_folder(folder: Path, what: str = "output", create: bool = True) -> Path:
    """Create ``folder`` (and parents) or raise a :class:`UsageError` saying why it cannot be used.

    With ``create=False`` only check: the nearest existing ancestor must be a writable folder.
    """
    folder = Path(folder)
    for parent in [folder, *folder.parents]:
        if parent.exists() and not parent.is_dir():
            raise UsageError(problem(f"Cannot write the {what} under {folder}: {parent} is a file, not a folder.",
                                     "a folder path", str(folder), "Choose another path, or move that file away."))
    if not create:
        existing = next(p for p in [folder, *folder.parents] if p.exists())
        if not os.access(existing, os.W_OK):
            raise UsageError(problem(f"The {what} cannot be created: {existing} is not writable.", "a writable folder",
                                     str(folder), "Choose a path you can write to, or fix its permissions."))
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(problem(f"Cannot create the folder for the {what} ({exc.strerror}).", "a writable folder",
                                 str(folder), "Choose a path you can write to.")) from None
    if not os.access(folder, os.W_OK):
        raise UsageError(problem(f"The folder for the {what} is not writable.", "a writable folder", str(folder),
                                 "Choose a path you can write to, or fix its permissions."))
    return folder


@contextmanager
def atomic_output(path: str | os.PathLike[str], what: str = "output") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` when the block succeeds.

    A file already at ``path`` that tension did not write is kept under a dated name first.
    """
    final = Path(path)
    if final.is_dir():
        raise UsageError(problem(f"The {what} path is a folder.", "a file name", str(final),
                                 f"Use a file name inside it, e.g. {final / 'out.parquet'}."))
    writable_folder(final.parent, what)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if tmp.exists():
            _mark(tmp)
        if final.exists() and not written_by_tension(final):
            _keep_aside(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
