"""Product keys in the browser: Add Key(s) for each product, Activation Details, and a
deactivation and reactivation finalised by the product calling home over HTTP."""

import importlib
import json
import re
import urllib.request
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import Page, expect

from keyledger.audit.actor import Actor
from keyledger.keys.actions import source_keys
from keyledger.keys.models import Product, ProductKey
from tests.browser.conftest import ARTIFACTS, sign_in

MACHINE = {"name": "FS01", "hardware_id": "HW-0001", "software_id": "SW-0001"}


@pytest.fixture(autouse=True)
def catalog(transactional_db):
    """The default catalog, as the migrations install it: a live-server test empties every
    table when it ends, the catalog's too, so a later test would find none."""
    migration = importlib.import_module("keyledger.keys.migrations.0002_default_catalog")
    migration.install_catalog(apps, None)


def call_home(live_server, key: str) -> dict:
    """What the product installed on FS01 sends, as the product sends it."""
    body = {
        "key": key,
        "machine": MACHINE,
        "product": "spmsp",
        "edition": "server",
        "version": "5.2.7",
        "os": "Windows Server 2019",
        "nonce": "browser-test",
    }
    request = urllib.request.Request(  # noqa: S310 (the live test server, over http)
        f"{live_server.url}/api/v1/call-home",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the live test server)
        assert response.status == 200
        return json.loads(response.read())


def panel(page: Page):
    return page.locator("#key-panel")


def dialog(page: Page):
    return page.locator("#add-keys-dialog")


def open_add_keys(page: Page):
    panel(page).get_by_role("link", name="Add Key(s)").click()
    expect(dialog(page)).to_be_visible()
    return dialog(page)


def test_msp_user_sources_keys_for_each_product_at_a_site(page, tree):
    site = tree.site_a1
    sign_in(page, tree.msp_a1_admin.email)
    page.goto(f"/msps/{tree.msp_a1.pk}/key-management/")
    page.locator("#accounts-sites").get_by_role("button", name="Sites of Alpha Dental").click()
    page.locator("#accounts-sites").get_by_role("link", name="Alpha Dental Main Street").click()
    expect(panel(page).get_by_role("tab", name="ShadowProtect", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )

    # Three ShadowProtect keys, on the tab's product and the selected site.
    add = open_add_keys(page)
    expect(add.get_by_label("Product Type")).to_have_value("spmsp")
    expect(add.get_by_label("Account/Site")).to_have_value(f"site-{site.pk}")
    add.get_by_label("Quantity").fill("3")
    add.get_by_role("button", name="Add Key(s)").click()
    expect(page.get_by_role("status")).to_have_text("3 keys added.")
    expect(panel(page).locator("table.keys .product-key")).to_have_count(3)
    expect(panel(page).locator("table.keys .status-label")).to_have_text(["Not activated"] * 3)

    # ImageManager with job licenses; a count over 150 is refused next to its field first.
    panel(page).get_by_role("tab", name="StorageCraft ImageManager").click()
    expect(page).to_have_url(re.compile(rf"/sites/{site.pk}/\?product=imagemanager$"))
    add = open_add_keys(page)
    expect(add.get_by_label("Product Type")).to_have_value("imagemanager")
    add.get_by_label("Quantity").fill("2")
    add.get_by_label("intelligentFTP").fill("5")
    add.get_by_label("ShadowStream").fill("151")
    add.get_by_role("button", name="Add Key(s)").click()
    expect(add.locator("#id_job_shadowstream_error")).to_contain_text("less than or equal to 150")
    expect(add).to_be_visible()
    add.get_by_label("ShadowStream").fill("10")
    add.get_by_label("HeadStart Restore").fill("1")
    add.get_by_role("button", name="Add Key(s)").click()
    expect(page.get_by_role("status")).to_have_text("2 keys added.")
    expect(panel(page).locator("table.keys .product-key")).to_have_count(2)
    image_keys = ProductKey.objects.filter(site=site, product__code="imagemanager")
    assert [k.fields for k in image_keys] == [{"intelligentftp": 5, "shadowstream": 10, "headstart": 1}] * 2

    # GRE, by choosing it as the Product Type: the dialog shows GRE's own fields.
    add = open_add_keys(page)
    add.get_by_label("Product Type").select_option(label="ShadowProtect Granular Recovery for Exchange (GRE)")
    expect(add.get_by_label("Exchange Server Name")).to_be_visible()
    expect(add.get_by_label("Quantity")).to_be_disabled()
    expect(add.get_by_text("(Quantity doesn't apply to GRE.)")).to_be_visible()
    expect(add.get_by_label("intelligentFTP")).to_have_count(0)
    add.get_by_label("Exchange Server Version").fill("Exchange 2019")
    add.get_by_role("button", name="Add Key(s)").click()
    expect(add.locator("#id_field_exchange_server_name_error")).to_have_text("This field is required.")
    add.get_by_label("Exchange Server Name").fill("MAIL01")
    add.get_by_role("button", name="Add Key(s)").click()
    expect(page.get_by_role("status")).to_have_text("1 key added.")
    expect(page).to_have_url(re.compile(rf"/sites/{site.pk}/\?product=gre$"))
    expect(
        panel(page).get_by_role("tab", name="ShadowProtect Granular Recovery for Exchange")
    ).to_have_attribute("aria-selected", "true")
    (gre,) = ProductKey.objects.filter(site=site, product__code="gre")
    assert gre.fields == {"exchange_server_name": "MAIL01", "exchange_server_version": "Exchange 2019"}

    panel(page).get_by_role("link", name=gre.key).click()
    details = page.locator("#activation-details")
    expect(details.get_by_role("heading", name="Activation Details")).to_be_visible()
    expect(details).to_contain_text("MAIL01")
    expect(details).to_contain_text("Exchange 2019")
    assert ProductKey.objects.filter(site=site).count() == 6


def test_deactivate_and_reactivate_a_key_finalised_by_its_call_home(page, tree, live_server):
    (key,) = source_keys(
        product=Product.objects.get(code="spmsp"),
        quantity=1,
        account=tree.account_a1,
        site=tree.site_a1,
        fields={},
        actor=Actor.system(),
    )
    # The product activates the key with its first call home.
    assert call_home(live_server, key.key)["status"] == "active"
    sign_in(page, tree.msp_a1_member.email)
    page.goto(f"/sites/{tree.site_a1.pk}/")

    panel(page).get_by_role("link", name=key.key).click()
    details = page.locator("#activation-details")
    expect(details.get_by_role("heading", name="Activation Details")).to_be_visible()
    expect(details.locator("#key-status")).to_have_text("OK")
    expect(details).to_contain_text("FS01")
    expect(details).to_contain_text("Server")
    expect(page).to_have_url(re.compile(rf"/keys/{key.pk}/$"))

    details.get_by_role("button", name="Deactivate").click()
    expect(details.locator("#key-status")).to_have_text("Deactivation requested \u2013 still active")
    expect(details.get_by_role("status")).to_have_text(
        "Deactivation requested: it is final when the product next calls home."
    )
    # The list beside the details follows.
    expect(panel(page).locator("table.keys .status-label")).to_have_text(["Deactivation requested"])
    expect(panel(page).locator("table.keys .badge")).to_have_attribute(
        "title", "Deactivation requested \u2013 still active"
    )

    assert call_home(live_server, key.key)["status"] == "deactivated"
    page.reload()
    details = page.locator("#activation-details")
    expect(details.locator("#key-status")).to_have_text("Deactivated")
    expect(details.get_by_role("table", name="History")).to_contain_text(
        "Deactivation requested \u2013 still active → Deactivated"
    )

    details.get_by_role("button", name="Reactivate").click()
    expect(details.locator("#key-status")).to_have_text("Reactivation requested")
    expect(details.get_by_role("button", name="Withdraw reactivation request")).to_be_visible()

    assert call_home(live_server, key.key)["status"] == "active"
    page.reload()
    expect(page.locator("#activation-details #key-status")).to_have_text("OK")


def no_horizontal_overflow(page: Page) -> None:
    """Neither the page nor the key panel's card scrolls sideways (the table may, inside it)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(
        "(() => { const c = document.getElementById('product-panel'); return c.scrollWidth <= c.clientWidth; })()"
    )


def test_a_distributor_deactivates_five_critical_keys_at_once(page, tree):
    site = tree.site_a1
    site.name = "Alpha Dental Main Street Practice and Imaging Centre"
    site.save(update_fields=["name"])
    spmsp = Product.objects.get(code="spmsp")
    keys = source_keys(
        product=spmsp, quantity=8, account=tree.account_a1, site=site, fields={}, actor=Actor.system()
    )
    now = timezone.now()
    for i, key in enumerate(keys):
        # Activated; the first six then fell silent four days ago: Critical.
        ProductKey.objects.filter(pk=key.pk).update(
            state=ProductKey.State.OK,
            activated_at=now - timedelta(days=10),
            machine_name=f"FILESERVER-{i:02d}-RACK-B-UPSTAIRS-CABINET",
            machine_hardware_id=f"HW-{i}",
            machine_software_id=f"SW-{i}",
            edition="server",
            last_call_home_at=now - timedelta(days=4 if i < 6 else 0),
            critical_due_at=now - timedelta(days=1) if i < 6 else now + timedelta(days=3),
        )
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, tree.dist_a_member.email)
    page.goto(f"/sites/{site.pk}/")
    expect(panel(page).locator("table.keys .product-key")).to_have_count(8)
    tabs = panel(page).get_by_role("tab")
    expect(tabs.first).to_contain_text("8")
    expect(tabs.first).to_contain_text("\u26a0 6")
    expect(tabs.first).to_have_accessible_description("8 keys, 6 Critical")
    # The tabs stay on one line, GRE's too.
    tops = {round(box["y"]) for box in (tabs.nth(i).bounding_box() for i in range(tabs.count()))}
    assert len(tops) == 1, tops
    assert page.evaluate(
        "(() => { const t = document.querySelector('.product-tabs'); return t.scrollWidth <= t.clientWidth; })()"
    ), "the tabs do not fit one line at 1366 px"
    page.locator("#product-panel").screenshot(path=str(ARTIFACTS / "key-list-site-1366.png"), caret="initial")
    no_horizontal_overflow(page)

    # Select all on this page ticks every row; unticking one row unticks it again.
    panel(page).get_by_label("Select all on this page").check()
    expect(panel(page).locator("[data-selected-count]")).to_have_text("8 selected")
    panel(page).locator("input[data-key-select]").first.uncheck()
    expect(panel(page).get_by_label("Select all on this page")).not_to_be_checked()
    expect(panel(page).locator("[data-selected-count]")).to_have_text("7 selected")

    panel(page).get_by_role("navigation", name="Status filter").get_by_role("link", name="Critical").click()
    expect(page).to_have_url(re.compile(rf"/sites/{site.pk}/\?product=spmsp&status=critical$"))
    expect(panel(page).locator("table.keys .product-key")).to_have_count(6)
    checkboxes = panel(page).locator("input[data-key-select]")
    for i in range(5):
        checkboxes.nth(i).check()
    expect(panel(page).locator("[data-selected-count]")).to_have_text("5 selected")
    panel(page).get_by_role("button", name="Deactivate", exact=True).click()

    expect(panel(page).get_by_role("heading", name="Deactivate 5 ShadowProtect keys?")).to_be_visible()
    panel(page).get_by_role("button", name="Deactivate 5 keys").click()
    expect(panel(page).locator(".bulk-summary")).to_have_text("5 keys: 5 deactivation requested.")
    states = sorted(ProductKey.objects.filter(site=site).values_list("state", flat=True))
    assert states.count(ProductKey.State.DEACTIVATION_REQUESTED) == 5
    # Still on the Critical filter: the one left.
    expect(panel(page).locator("table.keys .product-key")).to_have_count(1)

    for width in (1366, 1024):
        page.set_viewport_size({"width": width, "height": 768})
        page.goto(f"/accounts/{tree.account_a1.pk}/")
        expect(panel(page).locator("table.keys .product-key")).to_have_count(8)
        page.locator("#product-panel").screenshot(
            path=str(ARTIFACTS / f"key-list-{width}.png"), caret="initial"
        )
        no_horizontal_overflow(page)
        if width == 1366:  # the table fits its card: nothing scrolls, not even inside it
            assert page.evaluate(
                "(() => { const w = document.querySelector('#key-panel .table-wrap');"
                " return w.scrollWidth <= w.clientWidth; })()"
            )
