"""Maintenance of a proven store: retracting a batch, compacting months, moving orphans to the trash and emptying it.

An interrupted write leaves orphan files that no manifest names; ``compact`` moves them to
``trash/<YYYY-MM-DD>/`` inside the store, where they stay for :data:`TRASH_RETENTION_DAYS`
days (or until ``compact(empty_trash=True)``). An orphan is only a file of the store's own
naming scheme inside its own partition folders (``data/month=YYYY-MM/<batch>-<12 hex>.parquet``,
``quarantine/<batch>-<12 hex>.parquet``); nothing else is ever moved or deleted.
"""
from __future__ import annotations

import os
import posixpath
from datetime import date, datetime, timezone
from typing import Any

import pyarrow.compute as pc

from ..errors import UsageError, did_you_mean, problem
from .layout import MANIFEST_DIR, OWN_FILE, OWN_TMP_MANIFEST, TRASH_DAY, TRASH_RETENTION_DAYS
from .write import StoreWriter


class StoreMaintenance(StoreWriter):
    """Retract and compact: each requires a proven store and holds the writer lock."""

    def retract(self, batch_id: str) -> int:
        """Remove one batch's events and quarantine rows; returns the number of events removed.

        The batch record stays (flagged ``retracted``) so the history is kept. Files that
        also hold other batches' rows (after ``compact``) are rewritten without this batch.
        Later batches whose rows were counted as duplicates of this batch keep their
        counts; :meth:`retract_impact` names them so they can be re-ingested.
        """
        self.require_store("retract a batch")
        with self._lock():
            manifest = self._load_manifest()
            record = next((b for b in manifest["batches"] if b["batch_id"] == batch_id), None)
            if record is None or record.get("retracted"):
                known = [b["batch_id"] for b in manifest["batches"] if not b.get("retracted")]
                raise UsageError(
                    problem(
                        "No such batch in the store." if record is None else "This batch was already retracted.",
                        "one of the batch ids listed by `tension store info`",
                        batch_id,
                        "Run `tension store info` to list the batches." + did_you_mean(batch_id, known),
                    )
                )
            removed = 0
            files = []
            for f in manifest["files"]:
                n = int(f.get("batches", {}).get(batch_id, 0))
                if n == 0:
                    files.append(f)
                    continue
                removed += n
                if n == int(f["rows"]):
                    continue
                table = self._read_paths([f["path"]])
                table = table.filter(pc.not_equal(table["batch_id"], batch_id))
                keep_batch = max(f["batches"], key=lambda k: f["batches"][k] if k != batch_id else -1)
                files.append(self._write_events(table, f["month"], f"c{keep_batch}"))
            record["retracted"] = True
            record["retracted_at"] = datetime.now(timezone.utc).isoformat()
            manifest["files"] = files
            self._commit(manifest)
            return removed

    def retract_impact(self, batch_id: str) -> list[dict[str, Any]]:
        """Later batches that counted rows as duplicates of ``batch_id`` (re-ingest them after a retract)."""
        out = []
        for b in self._load_manifest()["batches"]:
            n = int(b.get("duplicates_of", {}).get(batch_id, 0))
            if n and b["batch_id"] != batch_id and not b.get("retracted"):
                out.append({"batch_id": b["batch_id"], "rows": n, "sources": b.get("meta", {}).get("source_files", [])})
        return out

    def compact(self, target_rows: int = 2_000_000, empty_trash: bool = False) -> dict[str, Any]:
        """Merge each month's files into as few files as possible; move orphan files to ``trash/``.

        Only a proven store is touched (:meth:`require_store`; anything else raises
        :class:`UsageError` and nothing changes). Orphans are the store's own data and
        quarantine files that no manifest names (an interrupted ingest, data of retracted
        batches, files replaced by an earlier compaction); they move to
        ``trash/<YYYY-MM-DD>/<their path>``. Files replaced by *this* compaction stay until the
        next one, so readers of the previous manifest are safe. Trash older than
        :data:`TRASH_RETENTION_DAYS` days is deleted; ``empty_trash=True`` deletes all of it.
        Returns counts: months rewritten, files before/after, orphans moved to the trash
        (``orphans_removed``), trash files deleted. The digest and every batch's counts are unchanged.
        """
        self.require_store("compact")
        with self._lock():
            manifest = self._load_manifest()
            previous = [f["path"] for f in manifest["files"]]
            by_month: dict[str, list[dict[str, Any]]] = {}
            for f in manifest["files"]:
                by_month.setdefault(f["month"], []).append(f)
            files: list[dict[str, Any]] = []
            rewritten = 0
            for month, group in sorted(by_month.items()):
                if len(group) == 1:
                    files.extend(group)
                    continue
                rewritten += 1
                table = self._read_paths([f["path"] for f in group])
                for start in range(0, table.num_rows, target_rows):
                    files.append(self._write_events(table.slice(start, target_rows), month, "compact", compression="zstd"))
            before = len(manifest["files"])
            manifest["files"] = files
            if rewritten:
                self._commit(manifest)
            # files the previous manifest named stay one more round: a reader may still be using them
            today = datetime.now(timezone.utc).date()
            orphans, temporary = self._trash_orphans(manifest, keep=set(previous), day=today)
            deleted = self._purge_trash(today, everything=empty_trash)
            return {
                "months_rewritten": rewritten,
                "files_before": before,
                "files_after": len(files),
                "orphans_removed": orphans,
                "temporary_manifests_removed": temporary,
                "trash": self._p("trash", today.isoformat()) if orphans or temporary else None,
                "trash_files_deleted": deleted,
                "trash_retention_days": TRASH_RETENTION_DAYS,
            }

    def _trash_orphans(self, manifest: dict[str, Any], keep: set[str], day: date) -> tuple[int, int]:
        """Move the store's own unnamed files to ``trash/<day>/``; returns (data/quarantine files, temp manifests)."""
        named = {f["path"] for f in manifest["files"]} | set(keep)
        named |= {p for b in manifest["batches"] if not b.get("retracted") for p in b.get("quarantine_files", [])}
        moved = 0
        for sub in ("data", "quarantine"):
            try:
                found = self.fs.find(self._p(sub))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for path in found:
                rel = self._rel(str(path))
                if rel not in named and OWN_FILE.match(rel):
                    self._move_to_trash(str(path), rel, day)
                    moved += 1
        temporary = 0
        if self.is_local:  # a commit killed between writing its temporary manifest and the rename
            for path in self.fs.glob(self._p(MANIFEST_DIR, "*.tmp-*")):
                rel = self._rel(str(path))
                if OWN_TMP_MANIFEST.match(rel):
                    self._move_to_trash(str(path), rel, day)
                    temporary += 1
        return moved, temporary

    def _move_to_trash(self, path: str, rel: str, day: date) -> None:
        dest = self._p("trash", day.isoformat(), rel)
        self.fs.makedirs(posixpath.dirname(dest), exist_ok=True)
        self.fs.mv(path, dest)

    def _purge_trash(self, today: date, everything: bool = False) -> int:
        """Delete trashed files older than the retention period (all with ``everything``); returns how many."""
        try:
            days = self.fs.ls(self._p("trash"), detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        deleted = 0
        for folder in days:
            folder = str(folder).rstrip("/")
            name = posixpath.basename(folder)
            if not TRASH_DAY.match(name):
                continue
            try:
                age = (today - date.fromisoformat(name)).days
            except ValueError:
                continue
            if not everything and age < TRASH_RETENTION_DAYS:
                continue
            for path in self.fs.find(folder):
                rel = posixpath.relpath(str(path), folder)
                if OWN_FILE.match(rel) or OWN_TMP_MANIFEST.match(rel):
                    self.fs.rm(str(path))
                    deleted += 1
            if self.is_local:
                _remove_empty_folders(folder)
        return deleted


def _remove_empty_folders(folder: str) -> None:
    """Remove ``folder`` and its sub-folders where they are empty (never a file)."""
    for parent, _, _ in sorted(os.walk(folder), key=lambda t: -len(t[0])):
        try:
            os.rmdir(parent)
        except OSError:
            pass
