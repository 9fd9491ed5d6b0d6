"""A distributor's daily questions, at 1366x768 as on a laptop: which keys are in trouble
across all its MSPs, where is key X, and MSPs listed in name order."""

import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import Page, expect

from keyledger.customers.models import Account
from keyledger.organisations.models import Organisation
from keyledger.testing.tree import make_org
from tests.billing.helpers import activated_at
from tests.browser.conftest import sign_in
from tests.keys.factories import call


@pytest.fixture(autouse=True)
def catalog(transactional_db):
    """The default catalog, as the migrations install it (a live-server test empties every
    table when it ends, the catalog's too)."""
    migration = importlib.import_module("keyledger.keys.migrations.0002_default_catalog")
    migration.install_catalog(apps, None)


def silent_key(account: Account):
    """A key whose product has not called home for five days: Critical."""
    now = timezone.now()
    key = activated_at(account, now - timedelta(days=60))
    call(key, now=now - timedelta(days=5))
    return key


def test_every_critical_key_of_every_msp_is_two_clicks_away(page: Page, tree):
    acme, bluebird = silent_key(tree.account_a1), silent_key(tree.account_a2)
    outsider = silent_key(tree.account_b1)  # another distributor's MSP
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="Reports").click()  # somewhere else in the portal

    page.get_by_role("link", name="Overview", exact=True).click()  # click 1
    page.locator('a[data-status="critical"]').click()  # click 2

    listed = page.locator("#overview-keys")
    expect(page.get_by_role("heading", name=re.compile("Critical keys"))).to_be_visible()
    expect(listed.locator("tbody tr")).to_have_count(2)
    expect(listed).to_contain_text(acme.key)
    expect(listed).to_contain_text(bluebird.key)
    expect(listed).not_to_contain_text(outsider.key)
    expect(listed.locator(".badge.status-critical").first).to_contain_text("Critical")


def test_the_msps_are_listed_in_natural_name_order(page: Page, tree):
    for name in ("msp 10", "MSP 9", "alpha Care"):
        make_org(parent=tree.dist_a, kind=Organisation.Kind.MSP, name=name, region="EMEA")
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="Key Management").click()

    names = page.locator("#msp-list tbody tr th a, #msp-list tbody tr td:first-child a").all_inner_texts()
    assert names == ["Acme IT", "alpha Care", "Bluebird Managed", "Cobalt Services", "MSP 9", "msp 10"]
