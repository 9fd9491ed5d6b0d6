"""Price lists: creating a list and adding prices (the actions), every refusal writing
nothing, and the queries the pages read (the price in force, history, counts)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Model

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.billing.models import Price, PriceList, Statement
from keyledger.billing.months import Month
from keyledger.billing.price_lists import (
    add_price,
    create_price_list,
    customers_of,
    final_through,
    in_force,
    lists_below,
    own_price_list,
    price_list_prices,
)
from keyledger.billing.pricing import effective_prices
from keyledger.billing.sql import fetch_dicts
from keyledger.organisations.models import Organisation
from tests.keys.factories import product

NOVEMBER = Month(2026, 11)


def actor_for(tree):
    return Actor(user=tree.dist_a_admin, ip="198.51.100.4")


@pytest.fixture
def acme(tree) -> PriceList:
    return create_price_list(issuer=tree.dist_a, customer=tree.msp_a1, currency="EUR", actor=actor_for(tree))


def final_statement(price_list: PriceList, month: Month, number: str = "NW-1") -> Statement:
    return Statement.objects.create(
        issuer=price_list.issuer,
        customer=price_list.customer,
        month=month.first_day,
        status=Statement.Status.FINAL,
        number=number,
        finalised_at=datetime(2026, 12, 3, tzinfo=UTC),
    )


def refused(call, field: str, *, counts: tuple[type[Model], ...] = (Price, PriceList)) -> str:
    """Run an action that must refuse: the message of `field`, and nothing written."""
    before = [model.objects.count() for model in (*counts, AuditEntry)]
    with pytest.raises(ValidationError) as caught:
        call()
    assert [model.objects.count() for model in (*counts, AuditEntry)] == before
    errors = caught.value.message_dict
    assert field in errors, errors
    return errors[field][0]


# ---------------------------------------------------------------- create_price_list


def test_a_distributor_keeps_a_list_for_its_msp_in_one_currency(tree):
    price_list = create_price_list(
        issuer=tree.dist_a, customer=tree.msp_a1, currency=" eur ", actor=actor_for(tree)
    )
    assert (price_list.issuer, price_list.customer, price_list.currency) == (tree.dist_a, tree.msp_a1, "EUR")
    assert price_list.created_by == tree.dist_a_admin
    entry = AuditEntry.objects.get(action="price_list.create")
    assert entry.organisation == tree.msp_a1  # the list belongs to the customer it prices
    assert entry.actor_label == tree.dist_a_admin.email and entry.ip_address == "198.51.100.4"
    assert entry.changes["currency"] == "EUR"


def test_vendor_staff_keep_a_list_per_distributor(tree):
    price_list = create_price_list(
        issuer=tree.vendor, customer=tree.dist_b, currency="AUD", actor=Actor(user=tree.vendor_admin)
    )
    assert price_list.customer == tree.dist_b and price_list.currency == "AUD"


@pytest.mark.parametrize("currency", ["XXX", "EURO", "", "E1R", "XAU", "€"])
def test_an_unknown_currency_is_refused(tree, currency):
    message = refused(
        lambda: create_price_list(
            issuer=tree.dist_a, customer=tree.msp_a1, currency=currency, actor=actor_for(tree)
        ),
        "currency",
    )
    assert "ISO 4217" in message


@pytest.mark.parametrize(
    ("issuer", "customer"),
    [
        ("vendor", "msp_a1"),
        ("dist_a", "msp_b1"),
        ("dist_a", "dist_a"),
        ("dist_a", "dist_b"),
        ("msp_a1", "msp_a2"),
    ],
)
def test_a_customer_not_directly_below_the_issuer_is_refused(tree, issuer, customer):
    issuer, customer = getattr(tree, issuer), getattr(tree, customer)
    message = refused(
        lambda: create_price_list(issuer=issuer, customer=customer, currency="EUR", actor=actor_for(tree)),
        "customer",
    )
    assert message.startswith(f"{customer.name} is not directly below {issuer.name}")


def test_a_second_list_for_the_same_customer_is_refused(tree, acme):
    message = refused(
        lambda: create_price_list(
            issuer=tree.dist_a, customer=tree.msp_a1, currency="USD", actor=actor_for(tree)
        ),
        "customer",
    )
    assert message == "Acme IT already has a price list in EUR; add its prices there."


def test_every_error_of_a_new_list_is_named_at_once(tree, acme):
    with pytest.raises(ValidationError) as caught:
        create_price_list(issuer=tree.dist_a, customer=tree.msp_a1, currency="ZZZ", actor=actor_for(tree))
    assert set(caught.value.message_dict) == {"currency", "customer"}


# ---------------------------------------------------------------- add_price


def test_a_price_per_edition_per_job_license_type_and_per_key(tree, acme):
    server = add_price(
        price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="25.00", actor=actor_for(tree)
    )
    stream = add_price(
        price_list=acme,
        product=product("imagemanager"),
        item="shadowstream",
        month=NOVEMBER,
        price=Decimal("1.5"),
        actor=actor_for(tree),
    )
    gre = add_price(
        price_list=acme, product="gre", item="", month=Month(2027, 1), price="40", actor=actor_for(tree)
    )
    assert (server.item, server.valid_from, server.unit_minor) == ("server", date(2026, 11, 1), 2500)
    assert (stream.product.code, stream.item, stream.unit_minor) == ("imagemanager", "shadowstream", 150)
    assert (gre.item, gre.valid_from, gre.unit_minor) == ("", date(2027, 1, 1), 4000)
    entry = AuditEntry.objects.filter(action="price.add").order_by("pk").first()
    assert entry.organisation == tree.msp_a1
    assert entry.changes == {
        "price_list": acme.pk,
        "product": "spmsp",
        "item": "server",
        "from": "2026-11",
        "price": "25.00",
        "currency": "EUR",
    }


@pytest.mark.parametrize(
    ("currency", "price", "minor"),
    [
        ("EUR", "0", 0),
        ("EUR", "12.5", 1250),
        ("JPY", "1500", 1500),
        ("KWD", "1.125", 1125),
        ("EUR", Decimal("1E+2"), 10000),
    ],
)
def test_a_price_is_kept_in_the_minor_unit_of_the_lists_currency(tree, currency, price, minor):
    price_list = create_price_list(
        issuer=tree.dist_a, customer=tree.msp_a2, currency=currency, actor=actor_for(tree)
    )
    added = add_price(
        price_list=price_list, product="gre", item="", month=NOVEMBER, price=price, actor=actor_for(tree)
    )
    assert added.unit_minor == minor


@pytest.mark.parametrize(
    ("currency", "price", "message"),
    [
        ("EUR", "12.345", "EUR prices have at most 2 decimals."),
        ("EUR", Decimal("12.345"), "EUR prices have at most 2 decimals."),
        ("JPY", "1500.5", "JPY prices have no decimals."),
        ("KWD", "1.0001", "KWD prices have at most 3 decimals."),
        ("EUR", "-1", "A price cannot be negative."),
        ("EUR", Decimal("-0.01"), "A price cannot be negative."),
        ("EUR", "twelve", "Enter a price as a number, e.g. 12.50."),
        ("EUR", "", "Enter a price as a number, e.g. 12.50."),
        ("EUR", "1e3", "Enter a price as a number, e.g. 12.50."),
        ("EUR", Decimal("NaN"), "Enter a price as a number, e.g. 12.50."),
        ("EUR", "12.50 EUR", "Enter a price as a number, e.g. 12.50."),
        ("EUR", "99999999999", "This price is too large."),
    ],
)
def test_a_bad_price_is_refused(tree, currency, price, message):
    price_list = create_price_list(
        issuer=tree.dist_a, customer=tree.msp_a2, currency=currency, actor=actor_for(tree)
    )
    got = refused(
        lambda: add_price(
            price_list=price_list,
            product="spmsp",
            item="server",
            month=NOVEMBER,
            price=price,
            actor=actor_for(tree),
        ),
        "price",
    )
    assert got == message


@pytest.mark.parametrize(
    ("code", "item", "field", "message"),
    [
        ("nope", "server", "product", "No such product; choose one of the catalog (GET /products)."),
        ("", "server", "product", "No such product; choose one of the catalog (GET /products)."),
        ("spmsp\x00", "server", "product", "No such product; choose one of the catalog (GET /products)."),
        ("spmsp", "shadowstream", "item", "has no item “shadowstream”; choose an edition: server (Server)"),
        ("spmsp", "", "item", "Choose an edition of ShadowProtect for Managed Service Providers (SP-MSP)"),
        ("imagemanager", "server", "item", "choose a job license type: intelligentftp (intelligentFTP)"),
        ("imagemanager", "", "item", "Choose a job license type of StorageCraft ImageManager"),
        ("gre", "server", "item", "has one price per key: leave the item empty."),
    ],
)
def test_an_unknown_product_or_an_item_the_product_does_not_have_is_refused(
    tree, acme, code, item, field, message
):
    got = refused(
        lambda: add_price(
            price_list=acme, product=code, item=item, month=NOVEMBER, price="1", actor=actor_for(tree)
        ),
        field,
    )
    assert message in got


def test_a_second_price_for_the_same_item_and_month_is_an_overlapping_price_period(tree, acme):
    add_price(
        price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="25", actor=actor_for(tree)
    )
    message = refused(
        lambda: add_price(
            price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="26", actor=actor_for(tree)
        ),
        "month",
    )
    assert message.startswith(
        "ShadowProtect Server already has a price from November 2026 (25.00 EUR): overlapping price period."
    )
    # Another item, or the same item from another month, is a price of its own.
    add_price(
        price_list=acme, product="spmsp", item="desktop", month=NOVEMBER, price="9", actor=actor_for(tree)
    )
    add_price(
        price_list=acme,
        product="spmsp",
        item="server",
        month=Month(2026, 12),
        price="26",
        actor=actor_for(tree),
    )
    assert Price.objects.filter(price_list=acme).count() == 3


def test_a_month_whose_statement_is_final_takes_no_price(tree, acme):
    final_statement(acme, NOVEMBER)
    message = refused(
        lambda: add_price(
            price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="25", actor=actor_for(tree)
        ),
        "month",
    )
    assert message == "November 2026 is final for Acme IT; a correction goes on a later statement."
    # From an earlier month the price would apply in November too.
    message = refused(
        lambda: add_price(
            price_list=acme,
            product="spmsp",
            item="server",
            month=Month(2026, 10),
            price="25",
            actor=actor_for(tree),
        ),
        "month",
    )
    assert message.startswith("November 2026 is final for Acme IT")
    add_price(
        price_list=acme,
        product="spmsp",
        item="server",
        month=Month(2026, 12),
        price="25",
        actor=actor_for(tree),
    )


def test_a_price_that_ends_before_the_final_month_may_still_be_added(tree, acme):
    add_price(
        price_list=acme,
        product="spmsp",
        item="server",
        month=Month(2026, 9),
        price="20",
        actor=actor_for(tree),
    )
    add_price(
        price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="25", actor=actor_for(tree)
    )
    final_statement(acme, NOVEMBER)
    # October's price stops at November's: November's statement is untouched.
    added = add_price(
        price_list=acme,
        product="spmsp",
        item="server",
        month=Month(2026, 10),
        price="22",
        actor=actor_for(tree),
    )
    assert added.valid_from == date(2026, 10, 1)


def test_another_issuers_or_customers_final_statement_does_not_matter(tree, acme):
    other = create_price_list(issuer=tree.dist_a, customer=tree.msp_a2, currency="EUR", actor=actor_for(tree))
    final_statement(other, NOVEMBER)
    Statement.objects.create(issuer=tree.dist_a, customer=tree.msp_a1, month=NOVEMBER.first_day)  # a draft
    add_price(
        price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="25", actor=actor_for(tree)
    )


def test_every_error_of_a_price_is_named_at_once(tree, acme):
    with pytest.raises(ValidationError) as caught:
        add_price(
            price_list=acme, product="spmsp", item="nope", month=NOVEMBER, price="-1", actor=actor_for(tree)
        )
    assert set(caught.value.message_dict) == {"item", "price"}
    add_price(
        price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="25", actor=actor_for(tree)
    )
    with pytest.raises(ValidationError) as caught:
        add_price(
            price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="x", actor=actor_for(tree)
        )
    assert set(caught.value.message_dict) == {"month", "price"}


def test_a_month_must_be_a_month(tree, acme):
    message = refused(
        lambda: add_price(
            price_list=acme, product="spmsp", item="server", month="2026-11", price="1", actor=actor_for(tree)
        ),
        "month",
    )
    assert message == "Enter a month as YYYY-MM, e.g. 2026-11."


# ---------------------------------------------------------------- queries


def _add(tree, price_list, code, item, month, price):
    return add_price(
        price_list=price_list, product=code, item=item, month=month, price=price, actor=actor_for(tree)
    )


def test_the_price_in_force_agrees_with_the_sql_the_reports_use(tree, acme):
    _add(tree, acme, "spmsp", "server", Month(2026, 9), "20")
    _add(tree, acme, "spmsp", "server", NOVEMBER, "25")
    _add(tree, acme, "spmsp", "server", Month(2027, 2), "27")
    _add(tree, acme, "spmsp", "vm", Month(2026, 10), "5")
    _add(tree, acme, "gre", "", Month(2026, 12), "40")
    prices = list(Price.objects.filter(price_list=acme))
    for month in [Month(2026, 8), Month(2026, 9), Month(2026, 10), NOVEMBER, Month(2026, 12), Month(2027, 3)]:
        sql = fetch_dicts(effective_prices(month))
        expected = {
            (r["product_id"], r["item"]): r["unit_minor"] for r in sql if r["customer_id"] == tree.msp_a1.pk
        }
        assert {ref: p.unit_minor for ref, p in in_force(prices, month).items()} == expected, month


def test_the_prices_of_a_month_cover_the_catalog_with_their_history(tree, acme):
    _add(tree, acme, "spmsp", "server", Month(2026, 9), "20")
    _add(tree, acme, "spmsp", "server", NOVEMBER, "25")
    _add(tree, acme, "spmsp", "server", Month(2027, 2), "27")
    _add(tree, acme, "imagemanager", "shadowstream", Month(2027, 1), "1.50")
    shown = price_list_prices(acme, NOVEMBER)
    rows = {(row.item.product.code, row.item.code): row for row in shown.current}
    # Every item of the catalog, priced or not.
    assert list(rows) == [
        ("spmsp", "server"),
        ("spmsp", "sbs"),
        ("spmsp", "desktop"),
        ("spmsp", "vm"),
        ("imagemanager", "intelligentftp"),
        ("imagemanager", "shadowstream"),
        ("imagemanager", "headstart"),
        ("gre", ""),
    ]
    server = rows[("spmsp", "server")]
    assert (server.price.unit_minor, server.next.unit_minor) == (2500, 2700)
    stream = rows[("imagemanager", "shadowstream")]
    assert stream.price is None and stream.next.valid_from == date(2027, 1, 1)
    assert rows[("gre", "")].price is None and rows[("gre", "")].item.label == "Per key"
    history = [(h.price.product.code, h.price.item, str(h.month), h.status) for h in shown.history]
    assert history == [
        ("spmsp", "server", "2027-02", "scheduled"),
        ("spmsp", "server", "2026-11", "current"),
        ("spmsp", "server", "2026-09", "replaced"),
        ("imagemanager", "shadowstream", "2027-01", "scheduled"),
    ]


def test_an_item_the_catalog_dropped_still_shows_while_priced(tree, acme):
    _add(tree, acme, "spmsp", "sbs", Month(2026, 1), "7")
    spmsp = product("spmsp")
    spmsp.editions = [e for e in spmsp.editions if e["code"] != "sbs"]
    spmsp.save(update_fields=["editions"])
    rows = {(r.item.product.code, r.item.code): r for r in price_list_prices(acme, NOVEMBER).current}
    assert rows[("spmsp", "sbs")].price.unit_minor == 700
    assert rows[("spmsp", "sbs")].item.label == "sbs"


def test_the_issuers_customers_with_their_lists_and_items_priced(tree, acme):
    _add(tree, acme, "spmsp", "server", Month(2026, 9), "20")
    _add(tree, acme, "spmsp", "server", NOVEMBER, "25")
    _add(tree, acme, "gre", "", NOVEMBER, "40")
    rows = list(customers_of(Organisation.objects.all(), tree.dist_a))
    assert [(o.name, o.price_list_currency, o.items_priced) for o in rows] == [
        ("Acme IT", "EUR", 2),
        ("Bluebird Managed", None, 0),
        ("Cobalt Services", None, 0),
    ]
    assert rows[0].price_list_id == acme.pk


def test_own_list_and_the_lists_kept_below(tree, acme):
    northwind = create_price_list(
        issuer=tree.vendor, customer=tree.dist_a, currency="EUR", actor=Actor(user=tree.vendor_admin)
    )
    _add(tree, northwind, "spmsp", "server", NOVEMBER, "18")
    own = own_price_list(PriceList.objects.all(), tree.dist_a)
    assert own == northwind and own.items_priced == 1
    assert own_price_list(PriceList.objects.all(), tree.msp_a2) is None
    assert list(lists_below(PriceList.objects.all(), tree.vendor)) == [acme]
    assert list(lists_below(PriceList.objects.all(), tree.dist_a)) == []


def test_the_latest_final_month(tree, acme):
    assert final_through(acme) is None
    final_statement(acme, Month(2026, 10), "NW-1")
    final_statement(acme, NOVEMBER, "NW-2")
    assert final_through(acme) == NOVEMBER
