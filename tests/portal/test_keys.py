"""The product tabs of Key Management and Add Key(s) (SPEC §5, §6)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from keyledger.customers.models import Site
from keyledger.keys import actions
from keyledger.keys.models import ProductKey, SourcingRequest
from keyledger.portal.views.key_list import KEYS_PER_PAGE
from tests.keys.factories import PRODUCT_ACTOR, activated, call, source

HTMX = {"HTTP_HX_REQUEST": "true"}
State = ProductKey.State


def account_keys_url(account, **params) -> str:
    return _with(reverse("portal:account_keys", kwargs={"account_id": account.pk}), params)


def site_keys_url(site, **params) -> str:
    return _with(reverse("portal:site_keys", kwargs={"site_id": site.pk}), params)


def add_url(msp, **params) -> str:
    return _with(reverse("portal:add_keys", kwargs={"msp_id": msp.pk}), params)


def _with(url: str, params: dict) -> str:
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def text(response) -> str:
    return response.content.decode()


def field_error(response, field: str) -> str:
    match = re.search(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', text(response))
    assert match, f"no error next to {field}"
    return match.group(1)


def rows(response) -> list[str]:
    """The product keys listed, in order."""
    return re.findall(r'class="product-key"[^>]*>([0-9A-Z-]{29})</a>', text(response))


def badge_of(body: str, key) -> tuple[str, str, str]:
    """The status badge in a key's row: its class, its short label and its tooltip ("" for none)."""
    row = body.split(f">{key.key}</a>")[1].split("</tr>")[0]
    match = re.search(
        r'<span class="badge ([^"]+)"(?: title="([^"]*)")?><span class="status-mark" aria-hidden="true">'
        r'[^<]*</span> <span class="status-label">([^<]+)</span>',
        row,
    )
    assert match, f"no status badge for {key.key}"
    css, title, label = match.groups()
    return css, label, title or ""


def token_of(response) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', text(response))
    assert match, "no idempotency token in the form"
    return match.group(1)


@pytest.fixture
def second_site(tree):
    return Site.objects.create(account=tree.account_a1, name="Alpha Dental Riverside")


# --- the product tabs -------------------------------------------------------------------


def test_key_management_loads_the_product_panel_of_the_selected_account_and_site(tree, client_for):
    client = client_for(tree.msp_a1_member)

    account_page = text(
        client.get(reverse("portal:account_detail", args=[tree.account_a1.pk]), {"product": "gre"})
    )
    site_page = text(client.get(reverse("portal:site_detail", args=[tree.site_a1.pk])))

    assert f'hx-get="{account_keys_url(tree.account_a1)}?product=gre"' in account_page
    assert f'hx-get="{site_keys_url(tree.site_a1)}"' in site_page


def test_one_tab_per_active_product_of_the_catalog(tree, client_for):
    response = client_for(tree.msp_a1_member).get(account_keys_url(tree.account_a1), **HTMX)

    tabs = re.findall(r'role="tab"[^>]*>.*?<span class="tab-label[^"]*">([^<]+)</span>', text(response))
    assert tabs == [
        "ShadowProtect",
        "StorageCraft ImageManager",
        "ShadowProtect Granular Recovery for Exchange",
    ]
    # GRE's long label shows as its short name, so that the tabs fit one line; the label
    # stays its name for screen readers, and the product's full name its tooltip.
    gre = text(response).split('id="product-tab-gre"')[1].split("</a>")[0]
    assert '<span class="tab-short" aria-hidden="true">GRE</span>' in gre
    assert 'title="ShadowProtect Granular Recovery for Exchange (GRE)"' in text(response)
    assert 'id="product-tab-spmsp"' in text(response)
    assert 'aria-selected="true"' in text(response).split('id="product-tab-spmsp"')[1].split(">")[0]


def test_a_product_withdrawn_from_the_catalog_has_no_tab(tree, client_for):
    from keyledger.keys.models import Product

    Product.objects.filter(code="gre").update(is_active=False)

    response = client_for(tree.msp_a1_member).get(account_keys_url(tree.account_a1), **HTMX)

    assert "ShadowProtect Granular Recovery for Exchange" not in text(response)


def test_the_account_tab_lists_the_product_keys_of_the_account_and_all_its_sites(
    tree, client_for, second_site
):
    at_account = source(account=tree.account_a1)
    at_site = source(account=tree.account_a1, site=tree.site_a1)
    at_other_site = source(account=tree.account_a1, site=second_site)
    other_product = source(account=tree.account_a1, code="imagemanager")
    other_account = source(account=tree.account_a2)

    response = client_for(tree.msp_a1_member).get(account_keys_url(tree.account_a1, product="spmsp"), **HTMX)

    listed = rows(response)
    # In Product Key order, by default.
    assert listed == sorted(k.key for k in (*at_account, *at_site, *at_other_site))
    assert other_product[0].key not in listed
    assert other_account[0].key not in listed
    assert "Alpha Dental Riverside" in text(response)


def test_the_site_tab_lists_only_that_sites_keys_of_the_product(tree, client_for, second_site):
    source(account=tree.account_a1)
    at_site = source(account=tree.account_a1, site=tree.site_a1, code="imagemanager", quantity=2)
    source(account=tree.account_a1, site=second_site, code="imagemanager")

    response = client_for(tree.msp_a1_member).get(site_keys_url(tree.site_a1, product="imagemanager"), **HTMX)

    assert rows(response) == sorted(k.key for k in at_site)
    assert 'aria-selected="true"' in text(response).split('id="product-tab-imagemanager"')[1].split(">")[0]


def test_the_list_shows_status_site_machine_edition_and_last_call_home(tree, client_for):
    key = activated(account=tree.account_a1)
    key.refresh_from_db()
    actions.move_key(key=key, account=tree.account_a1, site=tree.site_a1, actor=PRODUCT_ACTOR)

    client = client_for(tree.msp_a1_member)
    body = text(client.get(site_keys_url(tree.site_a1), **HTMX))
    on_account = text(client.get(account_keys_url(tree.account_a1), **HTMX))

    row = body.split(f">{key.key}</a>")[1].split("</tr>")[0]
    assert badge_of(body, key) == ("status-ok", "OK", "")
    # A site's list has no Site column: it would repeat the page's site. An account's has.
    assert "Alpha Dental Main Street" not in row
    assert ">Site<" not in body
    assert (
        'title="Alpha Dental Main Street">Alpha Dental Main Street</span>'
        in on_account.split(f">{key.key}</a>")[1]
    )
    assert "FS01" in row
    assert "Server" in row
    assert f"{key.last_call_home_at:%Y-%m-%d %H:%M} UTC" in row


def test_each_status_has_its_label_and_badge(tree, client_for):
    unused = source(account=tree.account_a1)[0]
    ok = activated(account=tree.account_a1)
    critical = activated(account=tree.account_a1)
    requested = activated(account=tree.account_a1)
    actions.request_deactivation(key=requested, actor=PRODUCT_ACTOR)
    deactivated = activated(account=tree.account_a1)
    actions.request_deactivation(key=deactivated, actor=PRODUCT_ACTOR)
    call(deactivated)
    reactivating = activated(account=tree.account_a1)
    actions.request_deactivation(key=reactivating, actor=PRODUCT_ACTOR)
    call(reactivating)
    actions.request_reactivation(key=reactivating, actor=PRODUCT_ACTOR)
    # The others called home just now; this one last did four days ago.
    ProductKey.objects.filter(pk=critical.pk).update(
        critical_due_at=timezone.now() - timedelta(days=1),
        last_call_home_at=timezone.now() - timedelta(days=4),
    )

    body = text(client_for(tree.msp_a1_member).get(account_keys_url(tree.account_a1), **HTMX))

    # Critical is the alarm, requests pending amber, OK green, keys that do not run grey; the
    # short label shows, the full one is the tooltip.
    assert badge_of(body, unused) == ("status-off", "Not activated", "")
    assert badge_of(body, ok) == ("status-ok", "OK", "")
    assert badge_of(body, critical) == ("status-critical", "Critical", "")
    assert badge_of(body, requested) == (
        "status-pending",
        "Deactivation requested",
        "Deactivation requested \u2013 still active",
    )
    assert badge_of(body, deactivated) == ("status-off", "Deactivated", "")
    assert badge_of(body, reactivating) == ("status-pending", "Reactivation requested", "")
    marks = re.findall(r'<span class="status-mark" aria-hidden="true">([^<]+)</span>', body)
    assert set(marks) == {"\u25cb", "\u2713", "\u26a0", "\u25d4", "\u2013"}


def test_the_key_list_is_paginated_without_a_query_per_row(
    tree, client_for, second_site, django_assert_max_num_queries
):
    for _ in range(3):
        source(account=tree.account_a1, site=tree.site_a1, quantity=10)
    for key in ProductKey.objects.all()[:5]:
        call(key)
    client = client_for(tree.msp_a1_member)
    client.get(account_keys_url(tree.account_a1), **HTMX)  # the session, warmed

    # 14: one of them asks whether two-factor authentication is required of the user.
    with django_assert_max_num_queries(14):
        first = client.get(account_keys_url(tree.account_a1), **HTMX)
    with django_assert_max_num_queries(14):
        second = client.get(account_keys_url(tree.account_a1, page=2), **HTMX)

    assert len(rows(first)) == KEYS_PER_PAGE
    assert len(rows(second)) == 30 - KEYS_PER_PAGE
    assert "Page 1 of 2 · 30 keys" in text(first)
    assert "?product=spmsp&amp;page=2" in text(first) or "?page=2" in text(first)


def test_without_htmx_the_tab_is_a_whole_page(tree, client_for):
    (key,) = source(account=tree.account_a1, site=tree.site_a1, code="gre")

    response = client_for(tree.msp_a1_member).get(site_keys_url(tree.site_a1, product="gre"))

    body = text(response)
    assert "<html" in body
    assert "Key Management" in body
    assert key.key in body
    assert reverse("portal:site_detail", args=[tree.site_a1.pk]) in body


def test_tabs_swap_the_panel_and_keep_the_key_management_url(tree, client_for):
    body = text(client_for(tree.msp_a1_member).get(site_keys_url(tree.site_a1), **HTMX))

    assert "<html" not in body
    tab = body.split('id="product-tab-imagemanager"')[1].split(">")[0]
    assert f'hx-get="{site_keys_url(tree.site_a1)}?product=imagemanager"' in tab
    assert (
        f'hx-push-url="{reverse("portal:site_detail", args=[tree.site_a1.pk])}?product=imagemanager"' in tab
    )


def test_read_only_users_see_the_keys_but_not_add_keys(tree, client_for):
    (key,) = source(account=tree.account_a1)

    body = text(client_for(tree.dist_a_readonly).get(account_keys_url(tree.account_a1), **HTMX))

    assert key.key in body
    assert "Add Key(s)" not in body
    assert "<dialog" not in body


def test_billing_users_may_not_see_keys(tree, client_for):
    client = client_for(tree.dist_a_billing)

    assert client.get(account_keys_url(tree.account_a1)).status_code == 403
    assert client.get(site_keys_url(tree.site_a1)).status_code == 403
    assert client.get(add_url(tree.msp_a1)).status_code == 403


def test_the_tabs_answer_get_only(tree, client_for):
    assert client_for(tree.msp_a1_member).post(account_keys_url(tree.account_a1)).status_code == 405


# --- the Add Key(s) dialog --------------------------------------------------------------


def test_add_keys_opens_a_dialog_on_the_tabs_product_and_the_selected_site(tree, client_for, second_site):
    body = text(
        client_for(tree.msp_a1_member).get(site_keys_url(tree.site_a1, product="imagemanager"), **HTMX)
    )

    assert 'data-open-dialog="add-keys-dialog"' in body
    dialog = body.split('<dialog id="add-keys-dialog"')[1].split("</dialog>")[0]
    assert re.search(r'<option value="imagemanager" selected>StorageCraft ImageManager</option>', dialog)
    assert (
        f'<option value="site-{tree.site_a1.pk}" selected>Alpha Dental / Alpha Dental Main Street</option>'
        in dialog
    )
    # Every account and site of the MSP, and nothing of another MSP.
    assert f'<option value="account-{tree.account_a1.pk}">Alpha Dental</option>' in dialog
    assert f'<option value="site-{second_site.pk}">Alpha Dental / Alpha Dental Riverside</option>' in dialog
    assert "Bravo Legal" not in dialog
    for label in (
        "Product Type",
        "Quantity",
        "Account/Site",
        "intelligentFTP",
        "ShadowStream",
        "HeadStart Restore",
    ):
        assert f">{label}</label>" in dialog
    assert "Exchange Server Name" not in dialog
    assert '<button class="primary" type="submit">Add Key(s)</button>' in dialog


def test_gre_asks_for_its_exchange_server_and_fixes_the_quantity_at_one(tree, client_for):
    body = text(client_for(tree.msp_a1_member).get(account_keys_url(tree.account_a1, product="gre"), **HTMX))

    dialog = body.split('<dialog id="add-keys-dialog"')[1].split("</dialog>")[0]
    assert ">Exchange Server Name</label>" in dialog
    assert ">Exchange Server Version</label>" in dialog
    assert "(Quantity doesn&#x27;t apply to GRE.)" in dialog
    assert re.search(r'<input type="number" name="quantity" value="1"[^>]*disabled', dialog)
    assert f'<option value="account-{tree.account_a1.pk}" selected>' in dialog


def test_choosing_another_product_type_redraws_the_form_with_its_fields(tree, client_for):
    client = client_for(tree.msp_a1_member)

    response = client.get(
        add_url(tree.msp_a1, dialog=1, product="gre", placement=f"site-{tree.site_a1.pk}", quantity=3), **HTMX
    )

    body = text(response)
    assert body.startswith('<form id="add-keys-form"') or body.lstrip().startswith("<form")
    assert ">Exchange Server Name</label>" in body
    assert ">intelligentFTP</label>" not in body
    assert f'<option value="site-{tree.site_a1.pk}" selected>' in body
    assert "data-close-dialog" in body


def test_add_keys_is_a_page_of_its_own_without_javascript(tree, client_for):
    body = text(client_for(tree.msp_a1_member).get(add_url(tree.msp_a1, product="spmsp")))

    assert "<html" in body
    assert '<h2 id="add-keys-heading">Add Key(s)</h2>' in body
    assert "data-close-dialog" not in body


def add_keys_data(client, msp, *, product: str, placement: str, **fields) -> dict:
    """The form as the dialog renders it, filled in."""
    form = client.get(add_url(msp, dialog=1, product=product, placement=placement), **HTMX)
    return {"product": product, "placement": placement, "idempotency_key": token_of(form), **fields}


def test_sourcing_three_shadowprotect_keys_at_a_site(tree, client_for):
    client = client_for(tree.msp_a1_member)
    data = add_keys_data(
        client, tree.msp_a1, product="spmsp", placement=f"site-{tree.site_a1.pk}", quantity=3
    )

    response = client.post(add_url(tree.msp_a1), data)

    detail = reverse("portal:site_detail", args=[tree.site_a1.pk])
    assert response.status_code == 302
    assert response["Location"] == f"{detail}?product=spmsp"
    keys = list(ProductKey.objects.filter(site=tree.site_a1))
    assert len(keys) == 3
    assert {k.product.code for k in keys} == {"spmsp"}
    assert {k.state for k in keys} == {State.UNUSED}
    assert {k.created_by for k in keys} == {tree.msp_a1_member}
    assert "3 keys added" in text(client.get(response["Location"]))


def test_sourcing_from_the_dialog_redirects_the_whole_page(tree, client_for):
    client = client_for(tree.dist_a_member)
    data = add_keys_data(
        client, tree.msp_a1, product="spmsp", placement=f"account-{tree.account_a1.pk}", quantity=1
    )

    response = client.post(add_url(tree.msp_a1, dialog=1), data, **HTMX)

    assert response.status_code == 200
    assert (
        response["HX-Redirect"]
        == reverse("portal:account_detail", args=[tree.account_a1.pk]) + "?product=spmsp"
    )
    assert ProductKey.objects.filter(account=tree.account_a1, site=None).count() == 1
    assert "1 key added" in text(client.get(response["HX-Redirect"]))


def test_sourcing_imagemanager_keys_with_job_licenses(tree, client_for):
    client = client_for(tree.msp_a1_admin)
    data = add_keys_data(
        client,
        tree.msp_a1,
        product="imagemanager",
        placement=f"account-{tree.account_a1.pk}",
        quantity=2,
        job_intelligentftp=5,
        job_shadowstream=150,
        job_headstart="",
    )

    response = client.post(add_url(tree.msp_a1), data)

    assert response.status_code == 302
    keys = list(ProductKey.objects.filter(account=tree.account_a1, product__code="imagemanager"))
    assert len(keys) == 2
    assert [k.fields for k in keys] == [{"intelligentftp": 5, "shadowstream": 150, "headstart": 0}] * 2


def test_sourcing_a_gre_key_with_its_exchange_server(tree, client_for):
    client = client_for(tree.msp_a1_member)
    data = add_keys_data(
        client,
        tree.msp_a1,
        product="gre",
        placement=f"site-{tree.site_a1.pk}",
        quantity=7,  # fixed at 1: what is posted for it does not count
        field_exchange_server_name="EX01",
        field_exchange_server_version="Exchange 2019",
    )

    response = client.post(add_url(tree.msp_a1), data)

    assert response.status_code == 302
    (key,) = ProductKey.objects.filter(product__code="gre")
    assert key.site == tree.site_a1
    assert key.fields == {"exchange_server_name": "EX01", "exchange_server_version": "Exchange 2019"}


@pytest.mark.parametrize(
    ("product", "fields", "field", "message"),
    [
        ("spmsp", {"quantity": 0}, "quantity", "greater than or equal to 1"),
        ("spmsp", {"quantity": 11}, "quantity", "less than or equal to 10"),
        ("spmsp", {"quantity": ""}, "quantity", "This field is required."),
        (
            "imagemanager",
            {"quantity": 1, "job_shadowstream": 151},
            "job_shadowstream",
            "less than or equal to 150",
        ),
        ("imagemanager", {"quantity": 1, "job_headstart": -1}, "job_headstart", "greater than or equal to 0"),
        (
            "gre",
            {"field_exchange_server_name": "", "field_exchange_server_version": "2019"},
            "field_exchange_server_name",
            "This field is required.",
        ),
        (
            "gre",
            {"field_exchange_server_name": "EX01", "field_exchange_server_version": " "},
            "field_exchange_server_version",
            "This field is required.",
        ),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_sources_nothing(
    tree, client_for, product, fields, field, message
):
    client = client_for(tree.msp_a1_member)
    data = add_keys_data(client, tree.msp_a1, product=product, placement=f"site-{tree.site_a1.pk}", **fields)

    in_dialog = client.post(add_url(tree.msp_a1, dialog=1), data, **HTMX)
    as_page = client.post(add_url(tree.msp_a1), data)

    assert in_dialog.status_code == 200  # htmx swaps it into the open dialog
    assert message in field_error(in_dialog, field)
    assert "<html" not in text(in_dialog)
    assert as_page.status_code == 422
    assert message in field_error(as_page, field)
    # The same token comes back: the corrected form still sources its keys once.
    assert token_of(in_dialog) == data["idempotency_key"]
    assert not ProductKey.objects.exists()
    assert not SourcingRequest.objects.exists()


def test_a_site_of_another_msp_is_not_a_choice(tree, client_for):
    client = client_for(tree.dist_a_admin)
    data = add_keys_data(
        client, tree.msp_a1, product="spmsp", placement=f"site-{tree.site_a1.pk}", quantity=1
    )
    data["placement"] = f"site-{tree.site_a2.pk}"

    response = client.post(add_url(tree.msp_a1), data)

    assert "Select a valid choice" in field_error(response, "placement")
    assert not ProductKey.objects.exists()


def test_the_same_form_sent_twice_sources_its_keys_once(tree, client_for):
    client = client_for(tree.msp_a1_member)
    data = add_keys_data(
        client, tree.msp_a1, product="spmsp", placement=f"site-{tree.site_a1.pk}", quantity=3
    )

    first = client.post(add_url(tree.msp_a1, dialog=1), data, **HTMX)
    second = client.post(add_url(tree.msp_a1, dialog=1), data, **HTMX)

    assert first["HX-Redirect"] == second["HX-Redirect"]
    assert ProductKey.objects.count() == 3
    assert SourcingRequest.objects.count() == 1


def test_each_rendering_of_the_form_has_its_own_token(tree, client_for):
    client = client_for(tree.msp_a1_member)
    first = add_keys_data(
        client, tree.msp_a1, product="spmsp", placement=f"site-{tree.site_a1.pk}", quantity=1
    )
    second = add_keys_data(
        client, tree.msp_a1, product="spmsp", placement=f"site-{tree.site_a1.pk}", quantity=1
    )

    client.post(add_url(tree.msp_a1), first)
    client.post(add_url(tree.msp_a1), second)

    assert first["idempotency_key"] != second["idempotency_key"]
    assert ProductKey.objects.count() == 2


def test_a_token_reused_for_a_different_request_is_refused(tree, client_for):
    client = client_for(tree.msp_a1_member)
    data = add_keys_data(
        client, tree.msp_a1, product="spmsp", placement=f"site-{tree.site_a1.pk}", quantity=1
    )
    client.post(add_url(tree.msp_a1), data)

    response = client.post(add_url(tree.msp_a1), {**data, "quantity": 2})

    assert response.status_code == 422
    assert "already used for a different Add Key(s) request" in text(response)
    assert ProductKey.objects.count() == 1


@pytest.mark.parametrize("role", ["dist_a_readonly", "dist_a_billing"])
def test_users_who_may_not_change_keys_cannot_source_them(tree, client_for, role):
    client = client_for(getattr(tree, role))

    response = client.post(
        add_url(tree.msp_a1),
        {"product": "spmsp", "placement": f"site-{tree.site_a1.pk}", "quantity": 1, "idempotency_key": "x"},
    )

    assert response.status_code == 403
    assert not ProductKey.objects.exists()


def test_a_distributor_sources_keys_for_an_msp_without_portal_access(tree, client_for):
    client = client_for(tree.dist_a_member)
    data = add_keys_data(
        client, tree.msp_a3, product="spmsp", placement=f"account-{tree.account_a3.pk}", quantity=2
    )

    response = client.post(add_url(tree.msp_a3), data)

    assert response.status_code == 302
    assert ProductKey.objects.filter(msp=tree.msp_a3, account=tree.account_a3).count() == 2


def test_a_key_turns_critical_on_screen_before_the_sweeper_writes_it(tree, client_for):
    key = activated(account=tree.account_a1)

    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        # Signed in then: a session idle for 73 hours would have ended.
        client = client_for(tree.msp_a1_member)
        body = text(client.get(account_keys_url(tree.account_a1), **HTMX))

    assert badge_of(body, key) == ("status-critical", "Critical", "")
