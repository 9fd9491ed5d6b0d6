"""The top bar's search finds keys by a prefix of their machine name, ignoring case: a range
of one of these indexes (the key itself is found through its unique index). The second one
keeps an MSP user's search within its own keys however many other keys share the prefix."""

from django.db import migrations, models
from django.db.models.functions import Lower

import keyledger.keys.textorder


class Migration(migrations.Migration):
    dependencies = [("keys", "0004_sweep_after")]

    operations = [
        migrations.AddIndex(
            model_name="productkey",
            index=models.Index(
                keyledger.keys.textorder.Bytewise(Lower("machine_name")),
                condition=models.Q(("machine_name__isnull", False)),
                name="key_machine_name_search",
            ),
        ),
        migrations.AddIndex(
            model_name="productkey",
            index=models.Index(
                models.F("msp"),
                keyledger.keys.textorder.Bytewise(Lower("machine_name")),
                condition=models.Q(("machine_name__isnull", False)),
                name="key_msp_machine_name_search",
            ),
        ),
    ]
