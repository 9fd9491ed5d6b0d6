"""The top bar's search in the browser: the / key, a few symbols of a key, Enter."""

import importlib
import re

import pytest
from django.apps import apps
from playwright.sync_api import Page, expect

from keyledger.audit.actor import Actor
from keyledger.keys.actions import source_keys
from keyledger.keys.models import Product
from tests.browser.conftest import sign_in


@pytest.fixture(autouse=True)
def catalog(transactional_db):
    """The default catalog, as the migrations install it (a live-server test empties every table)."""
    migration = importlib.import_module("keyledger.keys.migrations.0002_default_catalog")
    migration.install_catalog(apps, None)


def test_a_distributor_finds_a_key_by_its_first_symbols(page: Page, tree):
    (key,) = source_keys(
        product=Product.objects.get(code="spmsp"),
        quantity=1,
        account=tree.account_a2,
        site=None,
        fields={},
        actor=Actor.system(),
    )
    sign_in(page, tree.dist_a_admin.email)
    box = page.get_by_role("searchbox", name="Search keys, machines, accounts, sites, MSPs")
    expect(box).to_be_visible()
    expect(box).not_to_be_focused()

    page.locator("body").press("/")
    expect(box).to_be_focused()
    expect(box).to_have_value("")  # the / that focused it is not typed into it
    page.keyboard.type(key.key[:7].lower().replace("-", ""))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/keys/{key.pk}/$"))
    expect(page).to_have_title(re.compile(rf"Activation Details · {key.key}"))


def test_the_slash_key_types_a_slash_in_a_field(page: Page, tree):
    sign_in(page, tree.dist_a_admin.email)
    page.goto("/key-management/")
    field = page.get_by_label("Search MSPs", exact=True)
    field.click()
    page.keyboard.type("a/b")
    expect(field).to_have_value("a/b")
    expect(
        page.get_by_role("searchbox", name="Search keys, machines, accounts, sites, MSPs")
    ).not_to_be_focused()


def test_several_matches_are_listed_and_each_opens(page: Page, tree):
    sign_in(page, tree.dist_a_admin.email)
    box = page.get_by_role("searchbox", name="Search keys, machines, accounts, sites, MSPs")
    box.fill("alpha")
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Matches for “alpha” · 2")
    page.get_by_role("link", name="Alpha Dental Main Street").click()
    expect(page).to_have_url(re.compile(rf"/sites/{tree.site_a1.pk}/$"))
