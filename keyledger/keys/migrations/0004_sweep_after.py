"""The sweeper's index moves from critical_due_at (written by every call home) to sweep_after
(written only with state changes and by the sweep), so that the steady call home's UPDATE
writes no indexed column and PostgreSQL makes it a HOT update."""

from django.db import migrations, models


def arm(apps, schema_editor):
    ProductKey = apps.get_model("keys", "ProductKey")
    ProductKey.objects.filter(critical_due_at__isnull=False).update(sweep_after=models.F("critical_due_at"))


def leave_room(apps, schema_editor):
    # Room in each page for the next version of a row: a HOT update needs it on the same page.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE keys_productkey SET (fillfactor = 85)")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE keys_productkey RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("keys", "0003_keyevent_recorded_at_transition")]

    operations = [
        migrations.AddField(
            model_name="productkey",
            name="sweep_after",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(arm, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="productkey", name="key_sweep_due"),
        migrations.AddIndex(
            model_name="productkey",
            index=models.Index(
                condition=models.Q(("state__in", ["ok", "deactivation_requested"])),
                fields=["sweep_after"],
                name="key_sweep_after",
            ),
        ),
        migrations.RunPython(leave_room, fill_pages),
    ]
