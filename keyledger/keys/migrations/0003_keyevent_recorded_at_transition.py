import django.utils.timezone
from django.db import migrations, models


def recorded_when_effective(apps, schema_editor):
    # Until now every event was written when it took effect.
    KeyEvent = apps.get_model("keys", "KeyEvent")
    KeyEvent.objects.update(recorded_at=models.F("at"))
    # The transitions an event's states name without doubt.
    KeyEvent.objects.filter(old_state="").update(transition="source")
    KeyEvent.objects.filter(old_state="ok", new_state="ok").update(transition="report_edition")
    for old, new, name in [
        ("unused", "ok", "activate"),
        ("critical", "ok", "recover"),
        ("reactivation_requested", "ok", "finalise_reactivation"),
        ("ok", "critical", "turn_critical"),
        ("deactivated", "reactivation_requested", "request_reactivation"),
        ("reactivation_requested", "deactivated", "withdraw_reactivation"),
    ]:
        KeyEvent.objects.filter(old_state=old, new_state=new).update(transition=name)


class Migration(migrations.Migration):
    dependencies = [("keys", "0002_default_catalog")]

    operations = [
        migrations.AddField(
            model_name="keyevent",
            name="recorded_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="keyevent",
            name="transition",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.RunPython(recorded_when_effective, migrations.RunPython.noop),
    ]
