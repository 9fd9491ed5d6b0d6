"""The Price lists pages: the index (lists issued, own prices, lists kept below), a list's
prices in a month with history, New price list and Add price, who may do what, and
query counts that do not grow with the number of lists or prices."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.billing.models import Price, PriceList, Statement
from keyledger.billing.months import Month
from keyledger.billing.price_lists import add_price, create_price_list
from keyledger.testing.tree import Kind, make_org

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
NOVEMBER = Month(2026, 11)
INDEX = reverse("portal:price_lists")
NEW = reverse("portal:price_list_new")


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel(NOW, tick=False):
        yield


def detail_url(price_list: PriceList) -> str:
    return reverse("portal:price_list", kwargs={"price_list_id": price_list.pk})


def add_url(price_list: PriceList) -> str:
    return reverse("portal:price_list_add_price", kwargs={"price_list_id": price_list.pk})


def text_of(response) -> str:
    """The page's text without tags or runs of spaces, for reading sentences."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def lists(tree):
    actor = Actor(user=tree.dist_a_admin)
    acme = create_price_list(issuer=tree.dist_a, customer=tree.msp_a1, currency="EUR", actor=actor)
    add_price(price_list=acme, product="spmsp", item="server", month=Month(2026, 9), price="20", actor=actor)
    add_price(price_list=acme, product="spmsp", item="server", month=NOVEMBER, price="25", actor=actor)
    add_price(
        price_list=acme, product="spmsp", item="server", month=Month(2027, 1), price="1250.5", actor=actor
    )
    northwind = create_price_list(
        issuer=tree.vendor, customer=tree.dist_a, currency="EUR", actor=Actor(user=tree.vendor_admin)
    )
    add_price(
        price_list=northwind,
        product="spmsp",
        item="server",
        month=NOVEMBER,
        price="18",
        actor=Actor(user=tree.vendor_admin),
    )
    return {"acme": acme, "northwind": northwind}


# ---------------------------------------------------------------- the index


def test_a_distributor_sees_its_customers_and_its_own_prices(tree, client_for, lists):
    response = client_for(tree.dist_a_admin).get(INDEX)
    assert response.status_code == 200
    text = text_of(response)
    assert "Your prices" in text and "1 item priced" in text
    assert f'href="{detail_url(lists["northwind"])}"' in response.text
    # One row per customer: Acme's list, and New price list for the others.
    assert "Acme IT (MSP) EUR 1 View prices" in text
    assert "Bluebird Managed (MSP) No price list New price list" in text
    assert f"{NEW}?customer={tree.msp_a2.pk}" in response.text
    assert f"{NEW}?customer={tree.msp_a3.pk}" in response.text
    assert "Southgate" not in text and "Dingo" not in text


def test_an_msp_sees_only_its_own_prices(tree, client_for, lists):
    response = client_for(tree.msp_a1_admin).get(INDEX)
    text = text_of(response)
    assert "Your prices" in text and f'href="{detail_url(lists["acme"])}"' in response.text
    assert "Price lists you issue" not in text and "New price list" not in text
    # Not what its distributor pays, and not who that is.
    assert detail_url(lists["northwind"]) not in response.text
    assert "Northwind" not in text
    assert "No price list is kept" in text_of(client_for(tree.msp_a2_admin).get(INDEX))


def test_vendor_staff_see_the_lists_they_issue_and_those_kept_below(tree, client_for, lists):
    response = client_for(tree.vendor_admin).get(INDEX)
    text = text_of(response)
    assert "Your prices" not in text
    assert "Northwind Distribution (Distributor) EUR 1 View prices" in text
    assert "Southgate Supply (Distributor) No price list New price list" in text
    assert "Price lists kept below you" in text and "Northwind Distribution Acme IT EUR 1" in text


def test_a_user_who_may_not_keep_prices_reads_the_index_without_actions(tree, client_for, lists):
    for user in (tree.dist_a_billing, tree.dist_a_readonly, tree.dist_a_member):
        text = text_of(client_for(user).get(INDEX))
        assert "Acme IT (MSP) EUR 1 View prices" in text
        assert "New price list" not in text


def test_the_index_costs_the_same_queries_for_3_or_60_customers(tree, client_for, lists):
    client = client_for(tree.dist_a_admin)
    client.get(INDEX)  # a first request, so that both counts start alike

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(INDEX).status_code == 200
        return len(queries)

    few = count()
    actor = Actor(user=tree.dist_a_admin)
    for n in range(57):
        msp = make_org(parent=tree.dist_a, kind=Kind.MSP, name=f"MSP {n:02}")
        if n % 2:
            price_list = create_price_list(issuer=tree.dist_a, customer=msp, currency="EUR", actor=actor)
            add_price(price_list=price_list, product="gre", item="", month=NOVEMBER, price="4", actor=actor)
            add_price(
                price_list=price_list, product="spmsp", item="vm", month=NOVEMBER, price="4", actor=actor
            )
    assert count() == few
    page = client.get(INDEX).context["customers"]
    assert page.paginator.count == 60 and len(page) == 50


def test_the_vendors_index_costs_the_same_for_any_number_of_lists_below(tree, client_for, lists):
    client = client_for(tree.vendor_admin)
    client.get(INDEX)
    with CaptureQueriesContext(connection) as few:
        client.get(INDEX)
    actor = Actor(user=tree.dist_a_admin)
    for n in range(60):
        msp = make_org(parent=tree.dist_a, kind=Kind.MSP, name=f"MSP {n:02}")
        create_price_list(issuer=tree.dist_a, customer=msp, currency="EUR", actor=actor)
    with CaptureQueriesContext(connection) as many:
        response = client.get(INDEX)
    assert len(many) == len(few)
    assert response.context["below"].paginator.count == 61
    assert "Page 1 of 2" in response.text and "below=2" in response.text


def test_the_index_refuses_post(tree, client_for):
    assert client_for(tree.dist_a_admin).post(INDEX).status_code == 405


# ---------------------------------------------------------------- a list's page


def test_a_list_shows_each_items_price_in_the_month_and_the_history(tree, client_for, lists):
    response = client_for(tree.dist_a_admin).get(detail_url(lists["acme"]))
    assert response.status_code == 200
    text = text_of(response)
    assert "Price list of Acme IT" in text and "Issued by Northwind Distribution" in text
    assert "Currency EUR (Euro)" in text
    assert "Prices in November 2026" in text
    assert "Server 25.00 EUR November 2026 1,250.50 EUR from January 2027" in text
    assert "Desktop No price" in text and "ShadowStream No price" in text and "Per key No price" in text
    # The history: every price of the item, newest first, each with what it is in the month.
    assert "Server January 2027 1,250.50 EUR From a later month" in text
    assert "Server November 2026 25.00 EUR In force" in text
    assert "Server September 2026 20.00 EUR Replaced" in text
    assert "Add price" in text


def test_another_month_is_shown_by_its_prices(tree, client_for, lists):
    client = client_for(tree.dist_a_admin)
    text = text_of(client.get(detail_url(lists["acme"]), {"month": "2026-10"}))
    assert (
        "Prices in October 2026" in text
        and "Server 20.00 EUR September 2026 25.00 EUR from November 2026" in text
    )
    text = text_of(client.get(detail_url(lists["acme"]), {"month": "2026-08"}))
    assert "Server No price" in text
    response = client.get(detail_url(lists["acme"]), {"month": "November"})
    assert response.status_code == 200
    assert "Enter a month as YYYY-MM, e.g. 2026-11." in text_of(response)
    assert "Prices in November 2026" in text_of(response)


def test_an_msp_reads_its_own_list_without_its_issuer_or_the_form(tree, client_for, lists):
    response = client_for(tree.msp_a1_admin).get(detail_url(lists["acme"]))
    text = text_of(response)
    assert response.status_code == 200
    assert "Your prices" in text and "Server 25.00 EUR" in text
    assert "Read-only: the organisation that bills Acme IT keeps this list." in text
    assert "Northwind" not in text and "Add price" not in text and add_url(lists["acme"]) not in response.text


def test_a_distributor_reads_its_cost_list_read_only(tree, client_for, lists):
    response = client_for(tree.dist_a_admin).get(detail_url(lists["northwind"]))
    text = text_of(response)
    assert "Your prices" in text and "Server 18.00 EUR" in text and "Add price" not in text
    assert client_for(tree.dist_a_admin).post(add_url(lists["northwind"]), {}).status_code == 403


def test_vendor_staff_read_a_list_kept_below_without_changing_it(tree, client_for, lists):
    client = client_for(tree.vendor_admin)
    text = text_of(client.get(detail_url(lists["acme"])))
    assert (
        "Issued by Northwind Distribution" in text
        and "Read-only: Northwind Distribution keeps this list." in text
    )
    assert "Add price" not in text
    before = Price.objects.count()
    response = client.post(
        add_url(lists["acme"]), {"product": "gre", "item": "*", "month": "2026-12", "price": "1"}
    )
    assert response.status_code == 403 and Price.objects.count() == before


def test_outsiders_get_404(tree, client_for, lists):
    for url in (detail_url(lists["acme"]), add_url(lists["acme"])):
        assert client_for(tree.msp_a2_admin).get(url).status_code == 404
        assert client_for(tree.dist_b_admin).post(url).status_code == 404
    assert client_for(tree.msp_a1_admin).get(detail_url(lists["northwind"])).status_code == 404


def test_the_list_page_costs_the_same_queries_for_few_or_many_prices(tree, client_for, lists):
    client = client_for(tree.dist_a_admin)
    url = detail_url(lists["acme"])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    actor = Actor(user=tree.dist_a_admin)
    for n in range(1, 13):
        for code, item in [("spmsp", "desktop"), ("imagemanager", "shadowstream"), ("gre", "")]:
            add_price(
                price_list=lists["acme"], product=code, item=item, month=Month(2025, n), price=n, actor=actor
            )
    Statement.objects.create(
        issuer=tree.dist_a,
        customer=tree.msp_a1,
        month=Month(2026, 10).first_day,
        status=Statement.Status.FINAL,
        number="NW-1",
        finalised_at=NOW,
    )
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(many) == len(few)
    assert len(response.context["prices"].history) == 39


def test_the_list_page_refuses_post(tree, client_for, lists):
    assert client_for(tree.dist_a_admin).post(detail_url(lists["acme"])).status_code == 405


# ---------------------------------------------------------------- New price list


def test_a_new_list_for_a_customer_without_one(tree, client_for, lists):
    client = client_for(tree.dist_a_admin)
    response = client.get(NEW, {"customer": tree.msp_a2.pk})
    assert response.status_code == 200
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]+)</option>', response.text)
    assert [(name, bool(selected)) for _, selected, name in options] == [
        ("Bluebird Managed", True),
        ("Cobalt Services", False),
    ]
    assert '<option value="EUR">Euro</option>' in response.text
    response = client.post(NEW, {"customer": tree.msp_a2.pk, "currency": "usd"})
    created = PriceList.objects.get(customer=tree.msp_a2)
    assert response.status_code == 302 and response["Location"] == detail_url(created)
    assert (created.issuer, created.currency, created.created_by) == (tree.dist_a, "USD", tree.dist_a_admin)
    entry = AuditEntry.objects.get(action="price_list.create", object_id=str(created.pk))
    assert entry.channel == "web" and entry.actor_user == tree.dist_a_admin
    assert "Price list for Bluebird Managed created in USD." in text_of(client.get(response["Location"]))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"customer": "MSP2", "currency": "XXX"},
            "currency",
            "Enter an ISO 4217 currency code, e.g. EUR, USD or AUD.",
        ),
        (
            {"customer": "MSP2", "currency": ""},
            "currency",
            "Enter an ISO 4217 currency code, e.g. EUR, USD or AUD.",
        ),
        (
            {"customer": "MSP1", "currency": "EUR"},
            "customer",
            "Acme IT already has a price list in EUR; add its prices there.",
        ),
        (
            {"customer": "DIST", "currency": "EUR"},
            "customer",
            "Northwind Distribution is not directly below Northwind",
        ),
        ({"customer": "", "currency": "EUR"}, "customer", "Choose the customer the list prices."),
        ({"customer": "x1", "currency": "EUR"}, "customer", "Enter a whole number."),
    ],
)
def test_a_bad_new_list_is_a_field_error_that_writes_nothing(tree, client_for, lists, data, field, message):
    ids = {"MSP1": tree.msp_a1.pk, "MSP2": tree.msp_a2.pk, "DIST": tree.dist_a.pk}
    data = {**data, "customer": ids.get(data["customer"], data["customer"])}
    before = (PriceList.objects.count(), AuditEntry.objects.count())
    response = client_for(tree.dist_a_admin).post(NEW, data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.text
    assert (PriceList.objects.count(), AuditEntry.objects.count()) == before


def test_a_new_list_for_an_organisation_outside_the_subtree_is_not_found(tree, client_for):
    response = client_for(tree.dist_a_admin).post(NEW, {"customer": tree.msp_b1.pk, "currency": "EUR"})
    assert response.status_code == 404 and not PriceList.objects.exists()


def test_only_an_admin_creates_a_list(tree, client_for):
    for user in (tree.dist_a_billing, tree.dist_a_member, tree.dist_a_readonly):
        client = client_for(user)
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, {"customer": tree.msp_a2.pk, "currency": "EUR"}).status_code == 403
    assert not PriceList.objects.exists()


def test_when_every_customer_has_a_list_there_is_nothing_to_create(tree, client_for):
    actor = Actor(user=tree.vendor_admin)
    for dist in (tree.dist_a, tree.dist_b):
        create_price_list(issuer=tree.vendor, customer=dist, currency="EUR", actor=actor)
    assert "Every organisation directly below Keyledger Vendor has a price list." in text_of(
        client_for(tree.vendor_admin).get(NEW)
    )


# ---------------------------------------------------------------- Add price


def test_the_issuer_adds_a_price(tree, client_for, lists):
    client = client_for(tree.dist_a_admin)
    data = {"product": "imagemanager", "item": "shadowstream", "month": "2026-11", "price": "1.50"}
    response = client.post(add_url(lists["acme"]), data)
    assert response.status_code == 302 and response["Location"] == detail_url(lists["acme"])
    price = Price.objects.get(price_list=lists["acme"], item="shadowstream")
    assert (price.valid_from, price.unit_minor, price.created_by) == (
        NOVEMBER.first_day,
        150,
        tree.dist_a_admin,
    )
    text = text_of(client.get(response["Location"]))
    assert "StorageCraft ImageManager ShadowStream: 1.50 EUR from November 2026." in text
    assert "ShadowStream 1.50 EUR November 2026" in text
    entry = AuditEntry.objects.get(action="price.add", object_id=str(price.pk))
    assert entry.organisation == tree.msp_a1 and entry.channel == "web"


def test_a_price_per_key_is_added_with_the_per_key_item(tree, client_for, lists):
    response = client_for(tree.dist_a_admin).post(
        add_url(lists["acme"]), {"product": "gre", "item": "*", "month": "2026-12", "price": "40"}
    )
    assert response.status_code == 302
    assert Price.objects.get(price_list=lists["acme"], product__code="gre").item == ""


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"price": "12.345"}, "price", "EUR prices have at most 2 decimals."),
        ({"price": "-5"}, "price", "A price cannot be negative."),
        ({"price": "five"}, "price", "Enter a price as a number, e.g. 12.50."),
        ({"price": ""}, "price", "Enter a price as a number, e.g. 12.50."),
        ({"product": "nope"}, "product", "No such product"),
        ({"product": ""}, "product", "Choose a product."),
        ({"item": "shadowstream"}, "item", "has no item “shadowstream”"),
        ({"item": ""}, "item", "Choose an edition of ShadowProtect"),
        ({"month": "2026-13"}, "month", "Enter a month as YYYY-MM, e.g. 2026-11."),
        ({"month": "Nov 2026"}, "month", "Enter a month as YYYY-MM, e.g. 2026-11."),
        ({"month": "2026-11"}, "month", "overlapping price period"),
        (
            {"month": "2026-10"},
            "month",
            "October 2026 is final for Acme IT; a correction goes on a later statement.",
        ),
    ],
)
def test_a_bad_price_is_a_field_error_that_writes_nothing(tree, client_for, lists, data, field, message):
    Statement.objects.create(
        issuer=tree.dist_a,
        customer=tree.msp_a1,
        month=Month(2026, 10).first_day,
        status=Statement.Status.FINAL,
        number="NW-1",
        finalised_at=NOW,
    )
    data = {"product": "spmsp", "item": "server", "month": "2026-12", "price": "30", **data}
    before = (Price.objects.count(), AuditEntry.objects.count())
    response = client_for(tree.dist_a_admin).post(add_url(lists["acme"]), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["add_form"].errors[field])
    assert f'id="id_{field}_error"' in response.text
    assert (Price.objects.count(), AuditEntry.objects.count()) == before
    # The page still shows the list, with the form and what was typed.
    assert "Prices in November 2026" in text_of(response)


def test_the_form_says_from_when_prices_may_start(tree, client_for, lists):
    Statement.objects.create(
        issuer=tree.dist_a,
        customer=tree.msp_a1,
        month=NOVEMBER.first_day,
        status=Statement.Status.FINAL,
        number="NW-1",
        finalised_at=NOW,
    )
    response = client_for(tree.dist_a_admin).get(detail_url(lists["acme"]))
    assert "final up to November 2026: a new price starts in December 2026 at the earliest" in text_of(
        response
    )
    assert response.context["add_form"].initial["month"] == "2026-12"


def test_the_item_choice_follows_the_product(tree, client_for, lists):
    client = client_for(tree.dist_a_admin)
    # Without JavaScript: every product's items, grouped by product.
    page = client.get(detail_url(lists["acme"])).text
    assert '<optgroup label="StorageCraft ImageManager">' in page and 'value="shadowstream"' in page
    assert f'hx-get="{add_url(lists["acme"])}"' in page
    # With htmx, the product's change redraws the item field with its items only.
    response = client.get(add_url(lists["acme"]), {"product": "imagemanager"}, headers={"HX-Request": "true"})
    field = re.search(r'<div class="field" id="item-field">.*?</div>', response.text, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', field) == ["intelligentftp", "shadowstream", "headstart"]
    response = client.get(add_url(lists["acme"]), {"product": "gre"})
    field = re.search(r'<div class="field" id="item-field">.*?</div>', response.text, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)', field) == [("*", "Per key")]


def test_only_the_issuers_admin_adds_a_price(tree, client_for, lists):
    data = {"product": "gre", "item": "*", "month": "2026-12", "price": "40"}
    for user in (tree.dist_a_billing, tree.dist_a_member, tree.dist_a_readonly, tree.msp_a1_admin):
        client = client_for(user)
        assert client.get(add_url(lists["acme"])).status_code == 403
        assert client.post(add_url(lists["acme"]), data).status_code == 403
    assert not Price.objects.filter(product__code="gre").exists()
    assert "Add price" not in text_of(client_for(tree.dist_a_billing).get(detail_url(lists["acme"])))


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize("raw", ["9" * 30, "-1", "\u0661"])
def test_a_new_list_for_a_strange_customer_id_is_not_found(tree, client_for, raw):
    response = client_for(tree.dist_a_admin).post(NEW, {"customer": raw, "currency": "EUR"})
    assert response.status_code == 404
    assert not PriceList.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"product": "spmsp\x00"}, "product"),
        ({"item": "server\x00"}, "item"),
        ({"price": "1\x00"}, "price"),
        ({"price": "9" * 5000}, "price"),
        ({"month": "2026-12\x00"}, "month"),
    ],
)
def test_hostile_price_input_is_a_field_error(tree, client_for, lists, data, field):
    data = {"product": "spmsp", "item": "server", "month": "2026-12", "price": "30", **data}
    before = Price.objects.count()
    response = client_for(tree.dist_a_admin).post(add_url(lists["acme"]), data)
    assert response.status_code == 200
    assert response.context["add_form"].errors[field]
    assert Price.objects.count() == before


def test_a_currency_with_a_nul_character_is_a_field_error(tree, client_for):
    response = client_for(tree.dist_a_admin).post(NEW, {"customer": tree.msp_a2.pk, "currency": "EU\x00"})
    assert response.status_code == 200 and response.context["form"].errors["currency"]


def test_every_error_of_the_form_is_named_at_once(tree, client_for, lists):
    response = client_for(tree.dist_a_admin).post(
        add_url(lists["acme"]), {"product": "", "item": "", "month": "", "price": "-1"}
    )
    errors = response.context["add_form"].errors
    assert errors["product"] == ["Choose a product."]
    assert errors["month"] == ["Enter a month as YYYY-MM, e.g. 2026-11."]
    assert errors["price"] == ["A price cannot be negative."]


def test_the_month_shown_is_in_the_month_field(tree, client_for, lists):
    page = client_for(tree.dist_a_admin).get(detail_url(lists["acme"])).text
    assert re.search(r'<input type="month" name="month" value="2026-11"[^>]* id="view_month">', page)
    assert 'id="id_month"' in page  # the Add price form's own field
