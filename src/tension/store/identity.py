"""The store marker: telling a tension event store from anything else, and refusing to write or clean anything else.

A folder proves it is a store by a complete manifest carrying :data:`STORE_MARKER` and a
schema version. Manifests written before the marker existed (``complete``,
``schema_version``, ``batches`` and ``files``, nothing else claiming the folder) are
recognised by that shape and gain the marker at the next commit. ``retract`` and
``compact`` refuse any folder that is not a proven store (:meth:`StoreIdentity.require_store`);
writes go only into a store or a new, empty folder.
"""
from __future__ import annotations

import posixpath
from typing import Any

from ..errors import UsageError, problem
from .layout import MANIFEST_DIR, OWN_FILE, OWN_TMP_MANIFEST, STORE_MARKER, StoreLayout, is_store_manifest, read_json


class StoreIdentity(StoreLayout):
    """What a location holds, and the refusals that follow from it."""

    def identify(self) -> dict[str, Any]:
        """What the location holds: ``{"kind": ..., "detail": ..., "stores": [...]}``; changes nothing.

        ``kind`` is ``store`` (a complete manifest with :data:`STORE_MARKER`), ``missing``,
        ``empty``, ``not_a_folder``, ``damaged`` (manifest files, none complete) or
        ``not_a_store`` (a folder with other contents; ``detail`` names them and ``stores``
        lists event stores found up to three levels below, relative to the location).
        """
        try:
            if not self.fs.exists(self.root):
                return {"kind": "missing", "detail": f"{self.location} does not exist"}
            if not self.fs.isdir(self.root):
                return {"kind": "not_a_folder", "detail": f"{self.location} is a file, not a folder"}
            manifests = self.manifest_paths()
            for _, path in reversed(manifests):
                if is_store_manifest(read_json(self.fs, path)):
                    return {"kind": "store", "detail": f"{self.location} is a tension event store"}
            if manifests:
                return {"kind": "damaged", "detail": f"{self.location}/{MANIFEST_DIR} holds {len(manifests)} manifest "
                        "file(s), none of them complete"}
            entries = sorted(self.fs.ls(self.root, detail=True), key=lambda e: str(e["name"]))
        except PermissionError as exc:
            return {"kind": "not_a_store", "detail": f"{self.location} cannot be read ({exc.strerror or exc})"}
        except OSError as exc:
            return {"kind": "not_a_store", "detail": f"{self.location} cannot be listed ({exc.strerror or exc})"}
        entries = [e for e in entries if posixpath.basename(str(e["name"]).rstrip("/")) not in ("_lock", "_lock.lock")]
        if not entries:
            return {"kind": "empty", "detail": f"{self.location} is an empty folder"}
        if self._only_own_files(entries):
            return {"kind": "empty", "detail": f"{self.location} holds only data files of a first ingest that never "
                    "committed (no manifest yet)"}
        text, stores = self._describe(entries)
        return {"kind": "not_a_store", "detail": f"{self.location} holds {text}", "stores": stores}

    def _only_own_files(self, entries: list[dict[str, Any]]) -> bool:
        """Whether every file under the top-level ``entries`` is one this store writes (before any commit)."""
        if any(posixpath.basename(str(e["name"]).rstrip("/")) not in ("data", "quarantine", MANIFEST_DIR)
               or e.get("type") != "directory" for e in entries):
            return False
        for e in entries:
            for path in self.fs.find(str(e["name"])):
                rel = self._rel(str(path))
                if not (OWN_FILE.match(rel) or OWN_TMP_MANIFEST.match(rel)):
                    return False
        return True

    def _require_writable_location(self) -> None:
        """Writes go only into a store, a new (missing or empty) folder, or a store's damaged remains."""
        found = self.identify()
        if found["kind"] in ("store", "missing", "empty", "damaged"):
            return
        stores = found.get("stores") or []
        hint = f"Did you mean --store {posixpath.join(self.location, stores[0])}? " if stores else ""
        raise UsageError(
            problem(
                f"Cannot write events: {self.location} is not a tension event store and not empty. Nothing was changed.",
                "an event store, or a new or empty folder for one",
                found["detail"],
                f"{hint}Point --store (or $TENSION_STORE) at the store, or at a new folder such as ./data/store.",
            )
        )

    def _describe(self, entries: list[dict[str, Any]], limit: int = 12) -> tuple[str, list[str]]:
        """Name the entries of a folder that is not a store, and any store, ledger or database under it."""
        names = []
        for e in entries[:limit]:
            name = posixpath.basename(str(e["name"]).rstrip("/"))
            names.append(name + "/" if e.get("type") == "directory" else name)
        more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
        text = ", ".join(names) + more
        found = []
        stores = []
        for depth in ("*", "*/*", "*/*/*"):
            try:
                hits = self.fs.glob(self._p(depth, MANIFEST_DIR)) + self.fs.glob(self._p(depth, "manifests"))
                hits += self.fs.glob(self._p(depth, "*.db")) if depth != "*/*/*" else []
                hits += self.fs.glob(self._p("*.db")) if depth == "*" else []
            except OSError:
                continue
            for hit in hits:
                rel = self._rel(str(hit))
                base = posixpath.basename(rel)
                if base == MANIFEST_DIR:
                    stores.append(posixpath.dirname(rel))
                    found.append(f"an event store at {posixpath.dirname(rel)}")
                elif base == "manifests":
                    found.append(f"a forecast ledger at {posixpath.dirname(rel)}")
                elif base.endswith(".db"):
                    found.append(f"a database file {rel}")
        if found:
            text += "; under it: " + ", ".join(dict.fromkeys(found))
        return text, stores

    def require_store(self, action: str) -> None:
        """Raise :class:`UsageError` (exit 2) unless the location proves it is a tension event store."""
        found = self.identify()
        if found["kind"] == "store":
            return
        stores = found.get("stores") or []
        hint = (f"Did you mean --store {posixpath.join(self.location, stores[0])}? " if stores else "")
        fix = {
            "missing": f"{hint}Check the path, or create a store with `tension ingest FILE --store {self.location}`.",
            "empty": f"{hint}Create a store with `tension ingest FILE --store {self.location}`, or check the path.",
        }.get(found["kind"], f"{hint}Point --store (or $TENSION_STORE) at the store folder itself (the one holding "
                             f"{MANIFEST_DIR}/).")
        raise UsageError(
            problem(
                f"Cannot {action}: {self.location} is not a tension event store. Nothing was changed.",
                f"a folder with {MANIFEST_DIR}/manifest-NNNNNNNN.json marked \"store\": \"{STORE_MARKER}\"",
                found["detail"],
                fix,
            )
        )
