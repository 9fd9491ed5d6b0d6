"""The database itself refuses to change a final statement: no UPDATE or DELETE of a final
statement's row, and no INSERT, UPDATE or DELETE of the lines and keys of a final statement.
A draft becomes final by one UPDATE of its own row (status draft → final), which is allowed.

The SQL is written out here, not imported: a migration must keep meaning what it meant.
"""

from django.db import migrations

MESSAGE = "A final statement never changes; a correction goes on a later statement."
CHILDREN = ("billing_statementline", "billing_statementitem")

SQLITE_CREATE = [
    f"""CREATE TRIGGER billing_statement_final_update BEFORE UPDATE ON billing_statement
        WHEN OLD.status = 'final' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER billing_statement_final_delete BEFORE DELETE ON billing_statement
        WHEN OLD.status = 'final' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
for _table in CHILDREN:
    SQLITE_CREATE += [
        f"""CREATE TRIGGER {_table}_final_insert BEFORE INSERT ON {_table}
            WHEN (SELECT status FROM billing_statement WHERE id = NEW.statement_id) = 'final'
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        f"""CREATE TRIGGER {_table}_final_update BEFORE UPDATE ON {_table}
            WHEN (SELECT status FROM billing_statement WHERE id = OLD.statement_id) = 'final'
              OR (SELECT status FROM billing_statement WHERE id = NEW.statement_id) = 'final'
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        f"""CREATE TRIGGER {_table}_final_delete BEFORE DELETE ON {_table}
            WHEN (SELECT status FROM billing_statement WHERE id = OLD.statement_id) = 'final'
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    ]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS billing_statement_final_update",
    "DROP TRIGGER IF EXISTS billing_statement_final_delete",
] + [f"DROP TRIGGER IF EXISTS {t}_final_{op}" for t in CHILDREN for op in ("insert", "update", "delete")]

# PostgreSQL checks once per statement, over the rows it changed (transition tables): a
# month close inserts tens of thousands of lines, and a check per row cost ~55 µs each.
_PG_CHECKS = {
    "new": "EXISTS (SELECT 1 FROM new_rows n JOIN billing_statement s ON s.id = n.statement_id"
    " WHERE s.status = 'final')",
    "old": "EXISTS (SELECT 1 FROM old_rows o JOIN billing_statement s ON s.id = o.statement_id"
    " WHERE s.status = 'final')",
}
_PG_FUNCTIONS = {
    "billing_refuse_final_statement_insert": _PG_CHECKS["new"],
    "billing_refuse_final_statement_update": f"{_PG_CHECKS['old']} OR {_PG_CHECKS['new']}",
    "billing_refuse_final_statement_delete": _PG_CHECKS["old"],
}
POSTGRES_CREATE = [
    f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF {check} THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NULL;
        END $$"""
    for name, check in _PG_FUNCTIONS.items()
]
# The statement's own row is checked before anything else (its check constraints too), so
# that the refusal says why; a month close writes a few thousand of these, not tens of thousands.
POSTGRES_CREATE += [
    f"""CREATE OR REPLACE FUNCTION billing_refuse_final_statement() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status = 'final' THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER billing_statement_final BEFORE UPDATE OR DELETE ON billing_statement
        FOR EACH ROW EXECUTE FUNCTION billing_refuse_final_statement()""",
]
for _table in CHILDREN:
    POSTGRES_CREATE += [
        f"""CREATE TRIGGER {_table}_final_insert AFTER INSERT ON {_table}
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION billing_refuse_final_statement_insert()""",
        f"""CREATE TRIGGER {_table}_final_update AFTER UPDATE ON {_table}
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION billing_refuse_final_statement_update()""",
        f"""CREATE TRIGGER {_table}_final_delete AFTER DELETE ON {_table}
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
            EXECUTE FUNCTION billing_refuse_final_statement_delete()""",
    ]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS billing_statement_final ON billing_statement",
    *[f"DROP TRIGGER IF EXISTS {t}_final_{op} ON {t}" for t in CHILDREN for op in ("insert", "update", "delete")],
    "DROP FUNCTION IF EXISTS billing_refuse_final_statement()",
    *[f"DROP FUNCTION IF EXISTS {name}()" for name in _PG_FUNCTIONS],
]


def statements(vendor: str, *, create: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_CREATE if create else SQLITE_DROP
    if vendor == "postgresql":
        return POSTGRES_CREATE if create else POSTGRES_DROP
    raise NotImplementedError(f"Keyledger runs on SQLite and PostgreSQL, not {vendor}.")


def _run(schema_editor, *, create: bool) -> None:
    for sql in statements(schema_editor.connection.vendor, create=create):
        schema_editor.execute(sql)


def create_triggers(apps, schema_editor):
    _run(schema_editor, create=True)


def drop_triggers(apps, schema_editor):
    _run(schema_editor, create=False)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
