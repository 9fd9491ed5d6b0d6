"""/healthz: the process answers. /readyz: the database answers and every migration is applied."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse

log = logging.getLogger("keyledger.health")

# Once every migration is applied it stays so for the life of this process's code.
_migrated = False


def healthz() -> HttpResponse:
    return _text(200, "ok")


def readyz() -> HttpResponse:
    global _migrated
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrated:
            executor = MigrationExecutor(connection)
            if executor.migration_plan(executor.loader.graph.leaf_nodes()):
                return _text(503, "migrations not applied: run keyledger migrate")
            _migrated = True
    except DatabaseError as exc:
        log.warning("readyz: the database does not answer: %s", exc)
        return _text(503, "database unreachable")
    return _text(200, "ready")


def _text(status: int, text: str) -> HttpResponse:
    response = HttpResponse(f"{text}\n", status=status, content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response
