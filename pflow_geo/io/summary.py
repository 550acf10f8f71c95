"""Counts of what a read skipped or corrected, so that nothing is lost silently."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["ReadSummary"]


@dataclass
class ReadSummary:
    """Tally of one or more reads of MLTree files.

    Attributes:
        events_read: Entries read from ``EventTree``.
        events_kept: Entries returned to the caller.
        skipped: Items dropped, keyed by ``(item, reason)``, e.g.
            ``("event", "per-track vectors of unequal length")``.
        corrected: Items kept after a fix, keyed the same way, e.g.
            ``("cluster", "truth list longer than cell list, truncated")``.
    """

    events_read: int = 0
    events_kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    corrected: Counter = field(default_factory=Counter)

    def skip(self, item: str, reason: str, count: int = 1) -> None:
        """Record ``count`` dropped items of one kind."""
        if count:
            self.skipped[(item, reason)] += int(count)

    def correct(self, item: str, reason: str, count: int = 1) -> None:
        """Record ``count`` items kept after a fix."""
        if count:
            self.corrected[(item, reason)] += int(count)

    def update(self, other: ReadSummary) -> None:
        """Add the counts of another summary to this one."""
        self.events_read += other.events_read
        self.events_kept += other.events_kept
        self.skipped.update(other.skipped)
        self.corrected.update(other.corrected)

    def lines(self) -> list[str]:
        """Return the summary as human-readable lines."""
        out = [f"events read: {self.events_read}, kept: {self.events_kept}"]
        for (item, reason), count in sorted(self.skipped.items()):
            out.append(f"skipped {count} {item}(s): {reason}")
        for (item, reason), count in sorted(self.corrected.items()):
            out.append(f"corrected {count} {item}(s): {reason}")
        return out

    def log(self, logger: logging.Logger, label: str) -> None:
        """Log the summary, at WARNING when anything was skipped and at INFO otherwise."""
        level = logging.WARNING if self.skipped else logging.INFO
        for line in self.lines():
            logger.log(level, "%s: %s", label, line)

    def to_dict(self) -> dict:
        """Return the counts as a JSON-serialisable dictionary."""
        return {
            "events_read": self.events_read,
            "events_kept": self.events_kept,
            "skipped": {f"{item}: {reason}": count for (item, reason), count in sorted(self.skipped.items())},
            "corrected": {f"{item}: {reason}": count for (item, reason), count in sorted(self.corrected.items())},
        }
