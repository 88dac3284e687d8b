"""Writing output files safely: a clear error for unusable paths, never a torn file.

Every command that writes a file (``--out``) goes through :func:`atomic_output`: the data is
written under a temporary name in the same folder and moved into place with ``os.replace``,
so a crash or a kill leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UsageError, problem

__all__ = ["atomic_output", "writable_folder"]


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
    """Yield a temporary path beside ``path``; move it onto ``path`` when the block succeeds."""
    final = Path(path)
    if final.is_dir():
        raise UsageError(problem(f"The {what} path is a folder.", "a file name", str(final),
                                 f"Use a file name inside it, e.g. {final / 'out.parquet'}."))
    writable_folder(final.parent, what)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
