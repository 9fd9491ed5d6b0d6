"""Running steps at the same moment from threads with connections of their own, for the
tests of what several processes do at once (a call home racing Deactivate, two workers
finalising one statement)."""

from __future__ import annotations

import importlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection, connections


def shared_database(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """For a transactional test's fixture: yields `connect`, which gives the calling thread
    its own connection to the test database. The catalog the migrations install is installed
    again first (every transactional test ends in a flush)."""
    importlib.import_module("keyledger.keys.migrations.0002_default_catalog").install_catalog(apps, None)
    original = connections["default"]
    if connection.vendor != "sqlite" or not original.is_in_memory_db():
        yield lambda: None
        return
    # Threads sharing an in-memory database share its locks, which no deployment does: the
    # threads get a copy of it in a file.
    path = tmp_path / "race.sqlite3"
    original.ensure_connection()
    copy = sqlite3.connect(path)
    original.connection.backup(copy)
    copy.close()
    settings_dict = {**original.settings_dict, "NAME": str(path)}

    def connect() -> None:
        connections["default"] = type(original)(settings_dict, alias="default")

    connect()
    yield connect
    connections["default"].close()
    connections["default"] = original


def race(connect: Callable[[], None], *steps: Callable[[], Any], timeout: float = 120) -> list[Any]:
    """Run the steps at the same moment in threads of their own; their results, or errors."""
    barrier = threading.Barrier(len(steps))
    results: list[Any] = [None] * len(steps)

    def run(index: int, step: Callable[[], Any]) -> None:
        try:
            connect()
            barrier.wait()
            results[index] = step()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads)
    return results
