"""Active spans for the keys' history so far, replayed from their events (once, when billing
is installed; from then on the state machine writes them as it goes)."""

from django.db import migrations

ACTIVE = {"ok", "critical", "deactivation_requested"}
BATCH = 2000


def replay(apps, schema_editor):
    KeyEvent = apps.get_model("keys", "KeyEvent")
    ProductKey = apps.get_model("keys", "ProductKey")
    ActiveSpan = apps.get_model("billing", "ActiveSpan")
    keys = {k.pk: k for k in ProductKey.objects.exclude(state="unused").only("pk", "msp_id", "product_id", "version")}
    spans = []
    current = None  # the open span of the key being replayed
    key_id = None
    events = KeyEvent.objects.filter(key_id__in=list(keys)).order_by("key_id", "at", "id").iterator(chunk_size=BATCH)
    for event in events:
        if event.key_id != key_id:
            key_id, current = event.key_id, None
        placement = (event.edition, event.account_id, event.site_id)
        was, now = current is not None, event.new_state in ACTIVE
        period_start = current.period_start if was else event.at
        if was and (not now or placement != (current.edition, current.account_id, current.site_id)):
            current.ended_at = event.at
            if not now:
                current.ends_period = True
                current.last_call_home_at = event.at if event.cause == "call_home" else None
            current = None
        if now and current is None:
            key = keys[event.key_id]
            current = ActiveSpan(
                key_id=key.pk,
                msp_id=key.msp_id,
                product_id=key.product_id,
                period_start=period_start,
                started_at=event.at,
                edition=event.edition,
                account_id=event.account_id,
                site_id=event.site_id,
                machine_name=event.machine_name or "",
            )
            spans.append(current)
        if len(spans) >= BATCH and current is None:
            ActiveSpan.objects.bulk_create(spans)
            spans = []
    ActiveSpan.objects.bulk_create(spans)


def forget(apps, schema_editor):
    apps.get_model("billing", "ActiveSpan").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_final_statements_never_change"), ("keys", "0003_keyevent_recorded_at_transition")]

    operations = [migrations.RunPython(replay, forget)]
