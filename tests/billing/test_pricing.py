"""Prices in SQL (billing.pricing) and money (billing.money): the price in force each month,
a key's unit price per pricing mode, and rounding per currency."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from keyledger.billing import money
from keyledger.billing.engine import Scope, month_keys
from keyledger.billing.models import Price, PriceList
from keyledger.billing.months import Month
from keyledger.billing.pricing import BASIS_MSP, BASIS_OWN, BASIS_SALE, amount, customer_expression, key_price
from keyledger.billing.sql import Sql, fetch_dicts
from tests.billing.helpers import activated_at
from tests.keys.factories import product

NOVEMBER = Month(2026, 11)


def price(price_list, code, item, month, minor):
    return Price.objects.create(
        price_list=price_list, product=product(code), item=item, valid_from=month.first_day, unit_minor=minor
    )


def priced_rows(tree, month, *, basis=BASIS_MSP, viewer=None, near=None):
    viewer = viewer or tree.dist_a
    customer = customer_expression(
        basis, viewer_id=viewer.pk, viewer_path=viewer.path, msp_id="mk.msp_id", msp_path="m.path"
    )
    base = month_keys(month, Scope(path=viewer.path))
    kp = key_price(
        month, customer=customer, product="mk.product_id", edition="mk.edition", fields="k.fields", near=near
    )
    sql = Sql(
        f"""SELECT mk.key_id, mk.billable, {kp.unit} AS unit, {amount(kp.unit, "mk.billable")} AS amount,
                   {kp.currency} AS currency
            FROM ({base.text}) mk
            JOIN keys_productkey k ON k.id = mk.key_id
            JOIN organisations_organisation m ON m.id = mk.msp_id
            {kp.joins.text}
            ORDER BY mk.key_id""",
        [*base.params, *kp.joins.params],
    )
    return {row["key_id"]: row for row in fetch_dicts(sql)}


@pytest.fixture
def lists(tree):
    return {
        "acme": PriceList.objects.create(issuer=tree.dist_a, customer=tree.msp_a1, currency="EUR"),
        "northwind": PriceList.objects.create(issuer=tree.vendor, customer=tree.dist_a, currency="EUR"),
    }


def test_each_pricing_mode_and_the_price_in_force_that_month(tree, lists):
    server = activated_at(tree.account_a1, datetime(2026, 10, 1, tzinfo=UTC), edition="server")
    desktop = activated_at(tree.account_a1, datetime(2026, 10, 1, tzinfo=UTC), edition="desktop")
    im = activated_at(tree.account_a1, datetime(2026, 10, 1, tzinfo=UTC), code="imagemanager")
    im.fields = {"intelligentftp": 0, "shadowstream": 5, "headstart": 2}
    im.save(update_fields=["fields"])
    gre = activated_at(tree.account_a1, datetime(2026, 11, 25, tzinfo=UTC), code="gre")
    acme = lists["acme"]
    price(acme, "spmsp", "server", Month(2026, 9), 2000)
    price(acme, "spmsp", "server", NOVEMBER, 2500)  # in force from November
    price(acme, "spmsp", "server", Month(2026, 12), 9900)  # not yet
    price(acme, "imagemanager", "shadowstream", Month(2026, 1), 150)
    price(acme, "imagemanager", "headstart", Month(2026, 1), 75)
    price(acme, "gre", "", Month(2026, 1), 4000)
    rows = priced_rows(tree, NOVEMBER)
    assert (rows[server.pk]["unit"], rows[server.pk]["amount"], rows[server.pk]["currency"]) == (
        2500,
        2500,
        "EUR",
    )
    # No desktop price: no amount, not zero.
    assert (rows[desktop.pk]["unit"], rows[desktop.pk]["amount"]) == (None, None)
    # 5 x 1.50 + 2 x 0.75; intelligentFTP (none held) needs no price.
    assert rows[im.pk]["unit"] == 900
    # GRE active 6 days: priced, not billable, so 0.
    assert (rows[gre.pk]["unit"], rows[gre.pk]["amount"], rows[gre.pk]["billable"]) == (4000, 0, 0)
    assert priced_rows(tree, Month(2026, 10))[server.pk]["unit"] == 2000


def test_a_license_type_held_without_a_price_leaves_the_key_unpriced(tree, lists):
    im = activated_at(tree.account_a1, datetime(2026, 10, 1, tzinfo=UTC), code="imagemanager")
    im.fields = {"shadowstream": 1, "headstart": 1}
    im.save(update_fields=["fields"])
    price(lists["acme"], "imagemanager", "shadowstream", Month(2026, 1), 150)
    assert priced_rows(tree, NOVEMBER)[im.pk]["unit"] is None


def test_the_sale_basis_prices_with_the_list_of_the_viewers_child_on_the_path(tree, lists):
    key = activated_at(tree.account_a1, datetime(2026, 10, 1, tzinfo=UTC), edition="server")
    price(lists["acme"], "spmsp", "server", Month(2026, 1), 2500)
    price(lists["northwind"], "spmsp", "server", Month(2026, 1), 1800)
    assert priced_rows(tree, NOVEMBER)[key.pk]["unit"] == 2500
    vendor_view = priced_rows(tree, NOVEMBER, basis=BASIS_SALE, viewer=tree.vendor)
    assert vendor_view[key.pk]["unit"] == 1800


@pytest.mark.parametrize(
    ("basis", "viewer"),
    [
        (BASIS_MSP, "dist_a"),
        (BASIS_OWN, "dist_a"),
        (BASIS_SALE, "vendor"),
        (BASIS_MSP, "msp_a1"),
        (BASIS_SALE, "dist_a"),
    ],
)
def test_prices_near_the_viewer_are_the_prices_it_can_be_shown(tree, lists, basis, viewer):
    """Reading only the lists on the viewer's path and below it changes no price."""
    key = activated_at(tree.account_a1, datetime(2026, 10, 1, tzinfo=UTC), edition="server")
    price(lists["acme"], "spmsp", "server", Month(2026, 1), 2500)
    price(lists["northwind"], "spmsp", "server", Month(2026, 1), 1800)
    sibling = PriceList.objects.create(issuer=tree.dist_b, customer=tree.msp_b1, currency="AUD")
    price(sibling, "spmsp", "server", Month(2026, 1), 7700)
    org = getattr(tree, viewer)
    everywhere = priced_rows(tree, NOVEMBER, basis=basis, viewer=org)
    near = priced_rows(tree, NOVEMBER, basis=basis, viewer=org, near=org.path)
    assert near == everywhere and key.pk in near


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        (Decimal("2.005"), "EUR", Decimal("2.01")),
        (Decimal("2.004"), "EUR", Decimal("2.00")),
        (Decimal("-2.005"), "EUR", Decimal("-2.01")),
        (Decimal("1500.5"), "JPY", Decimal("1501")),
        (Decimal("1.0005"), "KWD", Decimal("1.001")),
        (Decimal("0.125"), "AUD", Decimal("0.13")),
    ],
)
def test_lines_round_half_up_to_the_currencys_minor_unit(amount, currency, rounded):
    assert money.round_line(amount, currency) == rounded
    assert str(money.round_line(amount, currency)) == str(rounded)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12", "EUR", 1200),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("0", "EUR", 0),
    ],
)
def test_prices_are_read_in_minor_units(text, currency, minor):
    assert money.parse_price(text, currency) == minor
    assert money.format_plain(minor, currency) == str(money.to_decimal(minor, currency))


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("12.505", "EUR", "at most 2 decimals"),
        ("1500.5", "JPY", "no decimals"),
        ("-1", "EUR", "cannot be negative"),
        ("twelve", "EUR", "as a number"),
        ("", "EUR", "as a number"),
        ("1e3", "EUR", "as a number"),
        ("\u0661\u0662", "EUR", "as a number"),
    ],
)
def test_bad_prices_are_refused_with_a_clear_message(text, currency, message):
    with pytest.raises(ValidationError, match=message):
        money.parse_price(text, currency)


@pytest.mark.parametrize("code", ["", "EU", "EURO", "XXX", "XAU", "DEM", "abc"])
def test_unknown_currencies_are_refused(code):
    with pytest.raises(ValidationError):
        money.clean_currency(code)


def test_known_currencies_are_accepted():
    assert [money.clean_currency(c) for c in ("eur", "AUD", "JPY", "KWD")] == ["EUR", "AUD", "JPY", "KWD"]
    assert money.minor_digits("JPY") == 0 and date.today().year >= 2026
