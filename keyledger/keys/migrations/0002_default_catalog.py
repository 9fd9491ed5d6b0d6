from django.db import migrations

# A copy, not an import: a migration must keep meaning what it meant when it was written.
DEFAULT_PRODUCTS = [
    {
        "code": "spmsp",
        "name": "ShadowProtect for Managed Service Providers (SP-MSP)",
        "tab_label": "ShadowProtect",
        "family": "software",
        "max_quantity": 10,
        "can_deactivate": True,
        "editions": [
            {"code": "server", "label": "Server"},
            {"code": "sbs", "label": "SBS"},
            {"code": "desktop", "label": "Desktop"},
            {"code": "vm", "label": "Virtual Machine"},
        ],
        "requires_edition_on_call_home": True,
        "job_license_types": [],
        "key_fields": [],
        "sort_order": 10,
    },
    {
        "code": "imagemanager",
        "name": "StorageCraft ImageManager",
        "tab_label": "StorageCraft ImageManager",
        "family": "software",
        "max_quantity": 10,
        "can_deactivate": False,
        "editions": [],
        "requires_edition_on_call_home": False,
        "job_license_types": [
            {"code": "intelligentftp", "label": "intelligentFTP", "max": 150},
            {"code": "shadowstream", "label": "ShadowStream", "max": 150},
            {"code": "headstart", "label": "HeadStart Restore", "max": 150},
        ],
        "key_fields": [],
        "sort_order": 20,
    },
    {
        "code": "gre",
        "name": "ShadowProtect Granular Recovery for Exchange (GRE)",
        "tab_label": "ShadowProtect Granular Recovery for Exchange",
        "family": "software",
        "max_quantity": 1,
        "can_deactivate": False,
        "editions": [],
        "requires_edition_on_call_home": False,
        "job_license_types": [],
        "key_fields": [
            {"name": "exchange_server_name", "label": "Exchange Server Name", "required": True, "max_length": 200},
            {"name": "exchange_server_version", "label": "Exchange Server Version", "required": True, "max_length": 100},
        ],
        "sort_order": 30,
    },
]


def install_catalog(apps, schema_editor):
    Product = apps.get_model("keys", "Product")
    for fields in DEFAULT_PRODUCTS:
        values = dict(fields)
        Product.objects.get_or_create(code=values.pop("code"), defaults=values)


class Migration(migrations.Migration):
    dependencies = [("keys", "0001_initial")]

    operations = [migrations.RunPython(install_catalog, migrations.RunPython.noop)]
