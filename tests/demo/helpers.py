from io import StringIO

from django.apps import apps
from django.core.management import call_command


def run_demo() -> str:
    """`keyledger demo`, as called from the command line; its output."""
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Rows of every Keyledger model: what "nothing was written" is measured against."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"organisations", "audit", "customers", "keys", "api"}
    }
