import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from keyledger.access import get_key_for_user, keys_for_user, products
from keyledger.keys.models import Product, ProductKey
from tests.keys.factories import activated, source

State = ProductKey.State


def test_the_default_catalog_is_the_seeds_products(db):
    rows = {p.code: p for p in Product.objects.all()}
    assert list(products().values_list("code", flat=True)) == ["spmsp", "imagemanager", "gre"]
    spmsp, im, gre = rows["spmsp"], rows["imagemanager"], rows["gre"]
    assert spmsp.name == "ShadowProtect for Managed Service Providers (SP-MSP)"
    assert [p.tab_label for p in products()] == [
        "ShadowProtect",
        "StorageCraft ImageManager",
        "ShadowProtect Granular Recovery for Exchange",
    ]
    assert (spmsp.max_quantity, im.max_quantity, gre.max_quantity) == (10, 10, 1)
    assert (spmsp.can_deactivate, im.can_deactivate, gre.can_deactivate) == (True, False, False)
    assert spmsp.edition_codes() == ["server", "sbs", "desktop", "vm"] and spmsp.requires_edition_on_call_home
    assert im.editions == [] and gre.editions == []
    assert [(j["code"], j["label"], j["max"]) for j in im.job_license_types] == [
        ("intelligentftp", "intelligentFTP", 150),
        ("shadowstream", "ShadowStream", 150),
        ("headstart", "HeadStart Restore", 150),
    ]
    assert [(f["name"], f["label"], f["required"]) for f in gre.key_fields] == [
        ("exchange_server_name", "Exchange Server Name", True),
        ("exchange_server_version", "Exchange Server Version", True),
    ]
    assert {p.family for p in rows.values()} == {"software"}


def test_state_labels_and_billed_states_are_the_specs():
    assert dict(State.choices) == {
        "unused": "Not activated",
        "ok": "OK",
        "critical": "Critical",
        "deactivation_requested": "Deactivation requested \u2013 still active",
        "deactivated": "Deactivated",
        "reactivation_requested": "Reactivation requested",
    }
    billed = {s for s in State if ProductKey(state=s).is_billed_state}
    assert billed == {State.OK, State.CRITICAL, State.DEACTIVATION_REQUESTED}


def test_catalog_rows_are_checked_in_the_admin(db):
    product = Product(
        code="x", name="X", tab_label="X", editions=[{"code": "a"}], job_license_types=[{"code": "j"}]
    )
    with pytest.raises(ValidationError) as exc:
        product.full_clean()
    assert {"editions", "job_license_types"} <= set(exc.value.message_dict)
    Product(code="y", name="Y", tab_label="Y").full_clean()


def test_a_key_is_bound_exactly_when_activated(tree):
    (key,) = source(account=tree.account_a1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductKey.objects.filter(pk=key.pk).update(state=State.OK)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductKey.objects.filter(pk=key.pk).update(state="gone")
    key = activated(account=tree.account_a1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductKey.objects.filter(pk=key.pk).update(machine_name=None)


def test_keys_are_reached_through_the_door(tree):
    (a1,) = source(account=tree.account_a1)
    (b1,) = source(account=tree.account_b1)
    assert set(keys_for_user(tree.dist_a_admin)) == {a1}
    assert set(keys_for_user(tree.vendor_admin)) == {a1, b1}
    assert set(keys_for_user(tree.msp_a2_admin)) == set()
    assert get_key_for_user(tree.msp_a1_admin, a1.pk) == a1
    for user, key_id in [(tree.msp_a2_admin, a1.pk), (tree.dist_b_admin, a1.pk), (tree.msp_a1_admin, "x")]:
        with pytest.raises(Http404):
            get_key_for_user(user, key_id)
