"""A plain-text progress bar: redrawn in place on a terminal, one line per tenth elsewhere
(so a log or a CI output stays readable)."""

from __future__ import annotations

from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int, *, stream: TextIO, width: int = 30) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream
        self.width = width
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def line(self, note: str = "") -> str:
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        percent = 100 * self.done // self.total
        return f"{self.label} [{bar}] {self.done}/{self.total} {percent:3d}%" + (f"  {note}" if note else "")

    def update(self, done: int, note: str = "") -> None:
        self.done = min(done, self.total)
        if self.interactive:
            self.stream.write("\r" + self.line(note) + "\x1b[K")
            self.stream.flush()
            return
        tenth = 10 * self.done // self.total
        if tenth != self._last_tenth or note:
            self._last_tenth = tenth
            self.stream.write(self.line(note) + "\n")

    def advance(self, count: int = 1, note: str = "") -> None:
        self.update(self.done + count, note)

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
        elif self.done < self.total:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
