"""The top bar's search finds keys by a prefix of their machine name, ignoring case: a range
of this index (the key itself is found through its unique index)."""

from django.db import migrations, models
from django.db.models.functions import Lower

import keyledger.keys.textorder


class Migration(migrations.Migration):
    dependencies = [("keys", "0004_sweep_after")]

    operations = [
        migrations.AddIndex(
            model_name="productkey",
            index=models.Index(
                keyledger.keys.textorder.Bytewise(Lower("machine_name")), name="key_machine_name_search"
            ),
        ),
    ]
