"""The archive of pruned audit entries: a JSON Lines file (gzip-compressed when its name ends in `.gz`),
one entry per line with every column, created new (an existing file is never overwritten) and synced to
disk before the entries are deleted."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path
from typing import Any

from chengyun.services.audit import AuditEntry


def entry_record(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "role": entry.role,
        "action": entry.action.value,
        "subject": entry.subject,
        "streets": sorted(entry.streets),
        "details": entry.details,
    }


class JsonLinesArchive:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw: io.BufferedIOBase = path.open("xb")  # FileExistsError: never overwrite an archive
        self._out: io.BufferedIOBase = self._raw
        if path.suffix == ".gz":
            self._out = gzip.GzipFile(fileobj=self._raw, mode="wb")

    def write(self, entry: AuditEntry) -> None:
        line = json.dumps(entry_record(entry), ensure_ascii=False, separators=(",", ":"), default=str)
        self._out.write(line.encode("utf-8") + b"\n")

    def seal(self) -> None:
        if self._out is not self._raw:
            self._out.close()  # writes the gzip trailer; the raw file stays open
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()

    def discard(self) -> None:
        """Removes the file after a failed prune (nothing was deleted)."""
        for stream in (self._out, self._raw):
            if not stream.closed:
                stream.close()
        self.path.unlink(missing_ok=True)
