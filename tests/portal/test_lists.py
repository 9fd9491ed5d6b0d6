"""Lists where people choose: counts of keys and Critical keys, natural name order, sorting
by a heading, the filter by name, pagination with the total, and the empty states."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyledger.audit.actor import Actor
from keyledger.customers import actions as customer_actions
from keyledger.organisations import actions as org_actions
from keyledger.organisations.models import Organisation, TermsAcceptance
from keyledger.organisations.naming import natural_sort_key
from keyledger.organisations.roles import Role
from keyledger.testing.keys import make_critical, spmsp_keys
from keyledger.testing.tree import make_account, make_org, make_site, make_user

MSP = Organisation.Kind.MSP
PICKER = reverse("portal:key_management")


def text(response) -> str:
    return response.content.decode()


def names_in_order(body: str, names: list[str]) -> list[str]:
    """The given names in the order the page shows them (by their first link)."""
    return sorted(names, key=lambda n: body.index(f">{n}</a>"))


def queries(client, url: str, params: dict | None = None) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured), text(response)


# --- the MSP picker ------------------------------------------------------------------------


def test_the_picker_counts_accounts_keys_and_critical_keys_per_msp(tree, client_for):
    keys = spmsp_keys(tree.account_a1, tree.site_a1, quantity=3)
    make_critical(keys[0])  # Critical as of now, not yet written down by the sweeper
    make_critical(keys[1], written=True)
    spmsp_keys(tree.account_a3)

    body = text(client_for(tree.dist_a_admin).get(PICKER))

    row = re.search(rf"<tr>\s*<td class=\"name\"><a[^>]*>{tree.msp_a1.name}</a>.*?</tr>", body, re.S).group()
    cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)
    assert cells[0] == "1" and cells[1] == "3"
    assert ">2 Critical</a>" in cells[2] and "⚠" in cells[2]
    assert f'href="{reverse("portal:msp_key_management", kwargs={"msp_id": tree.msp_a1.pk})}"' in cells[2]
    row3 = re.search(rf"<tr>\s*<td class=\"name\"><a[^>]*>{tree.msp_a3.name}</a>.*?</tr>", body, re.S).group()
    assert re.findall(r'<td class="num">(.*?)</td>', row3, re.S)[:2] == ["1", "1"]
    assert "Critical</a>" not in row3


def test_the_picker_costs_the_same_queries_for_2_or_20_msps(tree, client_for):
    client = client_for(tree.dist_a_admin)
    few, _ = queries(client, PICKER)
    for n in range(18):
        msp = make_org(parent=tree.dist_a, kind=MSP, name=f"Bulk {n}")
        account = make_account(msp, "Customer")
        make_critical(spmsp_keys(account, quantity=2)[0])

    many, body = queries(client, PICKER)

    assert many == few
    assert body.count(">1 Critical</a>") == 18


def test_only_msps_with_critical_keys(tree, client_for):
    make_critical(spmsp_keys(tree.account_a3)[0])

    body = text(client_for(tree.dist_a_admin).get(PICKER, {"critical": "1"}))

    assert f">{tree.msp_a3.name}</a>" in body
    assert f">{tree.msp_a1.name}</a>" not in body and f">{tree.msp_a2.name}</a>" not in body
    assert "Page 1 of 1 · 1 MSP<" in body


def test_the_picker_lists_msps_in_natural_order_and_sorts_by_a_heading(tree, client_for):
    for name in ("MSP 10", "msp 2", "MSP 1", "Msp 9"):
        make_org(parent=tree.dist_a, kind=MSP, name=name)
    client = client_for(tree.dist_a_admin)

    body = text(client.get(PICKER, {"q": "msp"}))
    reverse_body = text(client.get(PICKER, {"q": "msp", "sort": "-name"}))

    assert names_in_order(body, ["MSP 10", "msp 2", "MSP 1", "Msp 9"]) == [
        "MSP 1",
        "msp 2",
        "Msp 9",
        "MSP 10",
    ]
    assert names_in_order(reverse_body, ["MSP 10", "msp 2", "MSP 1"]) == ["MSP 10", "msp 2", "MSP 1"]
    assert re.search(r'aria-sort="ascending">\s*<a class="sort" href="\?q=msp&amp;sort=-name">MSP', body)
    assert re.search(
        r'aria-sort="descending">\s*<a class="sort" href="\?q=msp&amp;sort=name">MSP', reverse_body
    )
    assert re.search(
        r'aria-sort="none" class="num">\s*<a class="sort" href="\?q=msp&amp;sort=critical">Critical keys',
        body,
    )
    assert "Page 1 of 1 · 4 MSPs" in body


def test_the_picker_of_a_distributor_without_msps_offers_to_add_the_first(tree, client_for):
    new = make_org(
        parent=tree.vendor,
        kind=Organisation.Kind.DISTRIBUTOR,
        name="Fresh Distribution",
        portal_access=Organisation.PortalAccess.ACTIVE,
    )
    admin = make_user(new, "admin@fresh.test")
    reader = make_user(new, "reader@fresh.test", role=Role.READ_ONLY)
    for user in (admin, reader):
        TermsAcceptance.objects.create(user=user, organisation=new, terms=tree.terms)

    body = text(client_for(admin).get(PICKER))
    read_only = text(client_for(reader).get(PICKER))

    assert "There are no MSPs here yet" in body
    new_msp = reverse("portal:new_msp", kwargs={"organisation_id": new.pk})
    assert f'<a class="button primary" href="{new_msp}">Add your first MSP</a>' in body
    assert "There are no MSPs here yet" in read_only and "Add your first MSP" not in read_only


# --- the Accounts/Sites tree ---------------------------------------------------------------


def test_the_tree_counts_keys_and_critical_keys_per_account_and_site(tree, client_for):
    on_site = spmsp_keys(tree.account_a1, tree.site_a1, quantity=2)
    on_account = spmsp_keys(tree.account_a1)
    make_critical(on_site[0])
    make_critical(on_account[0], written=True)

    body = text(
        client_for(tree.msp_a1_member).get(reverse("portal:msp_key_management", args=[tree.msp_a1.pk]))
    )

    account_url = reverse("portal:account_detail", args=[tree.account_a1.pk])
    site_url = reverse("portal:site_detail", args=[tree.site_a1.pk])
    # The account counts its own keys and its sites' keys.
    assert re.search(r'title="3 keys">3<span class="visually-hidden"> keys</span>', body)
    assert f'<a class="alarm" href="{account_url}?status=critical" title="2 Critical keys">' in body
    assert re.search(r'title="2 keys">2<span class="visually-hidden"> keys</span>', body)
    assert f'<a class="alarm" href="{site_url}?status=critical" title="1 Critical key">' in body
    assert '<span aria-hidden="true">⚠ </span>2<span class="visually-hidden"> Critical</span></a>' in body


def test_the_tree_costs_the_same_queries_for_2_or_20_accounts(tree, client_for):
    client = client_for(tree.msp_a1_member)
    url = reverse("portal:msp_key_management", args=[tree.msp_a1.pk])
    few, _ = queries(client, url)
    for n in range(19):
        account = make_account(tree.msp_a1, f"Bulk {n}")
        site = make_site(account, f"Bulk {n} site")
        make_critical(spmsp_keys(account, site)[0])

    many, body = queries(client, url)

    assert many == few
    assert body.count('1<span class="visually-hidden"> Critical</span></a>') == 19 * 2


def test_the_tree_lists_accounts_and_sites_in_natural_order(tree, client_for):
    for name in ("Clinic 10", "clinic 2", "Clinic 1"):
        account = make_account(tree.msp_a1, name)
    for name in ("Room 12", "room 3"):
        make_site(account, name)

    body = text(
        client_for(tree.msp_a1_member).get(reverse("portal:msp_key_management", args=[tree.msp_a1.pk]))
    )

    assert names_in_order(body, ["Clinic 10", "clinic 2", "Clinic 1", "Alpha Dental"]) == [
        "Alpha Dental",
        "Clinic 1",
        "clinic 2",
        "Clinic 10",
    ]
    assert names_in_order(body, ["Room 12", "room 3"]) == ["room 3", "Room 12"]


def test_the_tree_is_filtered_by_name_and_paginated(tree, client_for):
    for n in range(60):
        make_account(tree.msp_a1, f"Bulk {n}")
    client = client_for(tree.msp_a1_member)
    url = reverse("portal:msp_key_management", args=[tree.msp_a1.pk])

    first = text(client.get(url))
    filtered = text(client.get(url, {"accounts": "bulk 5"}))
    selected = text(client.get(reverse("portal:account_detail", args=[tree.account_a1.pk])))

    assert "Page 1 of 2 · 61 accounts" in first
    assert ">Bulk 9</a>" in first and ">Bulk 59</a>" not in first
    assert names_in_order(filtered, [f"Bulk {n}" for n in range(50, 60)] + ["Bulk 5"])[0] == "Bulk 5"
    assert ">Bulk 4</a>" not in filtered and ">Alpha Dental</a>" not in filtered
    assert 'aria-current="true">Alpha Dental</a>' in selected


def test_long_names_in_the_tree_carry_their_full_name_as_title(tree, client_for):
    name = "Alpha Dental Holdings International Partnership of Northern Regional Clinics Limited"
    account = make_account(tree.msp_a1, name)

    body = text(client_for(tree.msp_a1_member).get(reverse("portal:account_detail", args=[account.pk])))

    assert (
        f'class="tree-name" href="{reverse("portal:account_detail", args=[account.pk])}" title="{name}"'
        in body
    )


# --- empty states and Cancel --------------------------------------------------------------


def test_an_account_without_sites_offers_add_site(tree, client_for):
    account = make_account(tree.msp_a1, "Lonely Co")
    url = reverse("portal:account_detail", args=[account.pk])

    body = text(client_for(tree.msp_a1_member).get(url))
    read_only = text(client_for(tree.dist_a_readonly).get(url))

    add_site = reverse("portal:site_create", args=[tree.msp_a1.pk]) + f"?account={account.pk}"
    assert "This account has no sites." in body
    assert f'<a class="button small" href="{add_site}">Add Site</a>' in body
    assert "This account has no sites." in read_only and f'href="{add_site}">Add Site' not in read_only


def test_an_msp_without_accounts_offers_to_add_the_first(tree, client_for):
    msp = make_org(parent=tree.dist_a, kind=MSP, name="Empty IT")

    body = text(client_for(tree.dist_a_admin).get(reverse("portal:msp_key_management", args=[msp.pk])))

    new_account = reverse("portal:account_create", args=[msp.pk])
    assert f'<a class="button primary" href="{new_account}">Add your first account</a>' in body


def test_new_account_and_new_site_cancel_back_to_where_they_came_from(tree, client_for):
    client = client_for(tree.msp_a1_member)
    msp_url = reverse("portal:msp_key_management", args=[tree.msp_a1.pk])
    account_url = reverse("portal:account_detail", args=[tree.account_a1.pk])
    new_account = reverse("portal:account_create", args=[tree.msp_a1.pk])
    new_site = reverse("portal:site_create", args=[tree.msp_a1.pk])

    assert f'<a class="button" href="{msp_url}">Cancel</a>' in text(client.get(new_account))
    from_account = text(client.get(new_account, {"account": tree.account_a1.pk}))
    assert f'<a class="button" href="{account_url}">Cancel</a>' in from_account
    assert f'<a class="button" href="{account_url}">Cancel</a>' in text(
        client.get(new_site, {"account": tree.account_a1.pk})
    )
    assert f'<a class="button" href="{msp_url}">Cancel</a>' in text(client.get(new_site))


# --- Distributors / MSPs and users ---------------------------------------------------------


def test_the_msps_list_is_in_natural_order_and_a_new_msp_does_not_jump_to_the_top(tree, client_for):
    client = client_for(tree.dist_a_admin)
    for name in ("Zeta 10", "zeta 2"):
        make_org(parent=tree.dist_a, kind=MSP, name=name)
    client.post(
        reverse("portal:new_msp", kwargs={"organisation_id": tree.dist_a.pk}),
        {"name": "Zeta 1", "city": "York", "state": "", "country": "UK", "postal_code": "YO1"},
    )

    body = text(client.get(reverse("portal:organisations")))
    by_region = text(client.get(reverse("portal:organisations"), {"sort": "-name"}))

    shown = names_in_order(body, [tree.msp_a1.name, tree.msp_a3.name, "Zeta 10", "zeta 2", "Zeta 1"])
    assert shown[-3:] == ["Zeta 1", "zeta 2", "Zeta 10"]
    assert names_in_order(by_region, ["Zeta 10", "zeta 2", "Zeta 1"]) == ["Zeta 10", "zeta 2", "Zeta 1"]
    assert "Page 1 of 1 · 6 MSPs" in body
    assert 'aria-sort="ascending"' in body


def test_the_msps_list_is_filtered_by_name(tree, client_for):
    body = text(client_for(tree.dist_a_admin).get(reverse("portal:organisations"), {"q": "cobalt"}))

    assert f">{tree.msp_a3.name}</a>" in body and f">{tree.msp_a1.name}</a>" not in body
    assert "Page 1 of 1 · 1 MSP<" in body


def test_the_users_list_is_in_natural_name_order_and_filtered(tree, client_for):
    for email, name in (
        ("u10@dist-a.test", "User 10"),
        ("u2@dist-a.test", "user 2"),
        ("nobody@dist-a.test", ""),
    ):
        make_user(tree.dist_a, email, full_name=name)
    client = client_for(tree.dist_a_admin)

    body = text(client.get(reverse("portal:users")))
    filtered = text(client.get(reverse("portal:users"), {"q": "U10@"}))

    assert names_in_order(body, ["User 10", "user 2", "nobody@dist-a.test"]) == [
        "nobody@dist-a.test",
        "user 2",
        "User 10",
    ]
    assert ">User 10</a>" in filtered and ">user 2</a>" not in filtered
    assert re.search(r"Page 1 of 1 · \d+ users", body)


def test_the_new_distributor_form_puts_the_agreement_in_its_own_fieldset_after_the_address(tree, client_for):
    body = text(client_for(tree.vendor_admin).get(reverse("portal:new_distributor", args=[tree.vendor.pk])))

    agreement = body.index("<legend>Agreement</legend>")
    assert body.index('name="postal_code"') < agreement < body.index('name="may_invite_msps"')
    assert body.index('name="is_master_msp"') < body.index("<legend>First login</legend>")


# --- the sort key follows the names -------------------------------------------------------


def test_the_actions_keep_the_sort_key_with_the_name(tree):
    actor = Actor.system()
    account = customer_actions.create_account(msp=tree.msp_a1, name="Clinic 7", actor=actor)
    site = customer_actions.create_site(account=account, name="Room 3", actor=actor)
    assert (account.sort_name, site.sort_name) == (natural_sort_key("Clinic 7"), natural_sort_key("Room 3"))

    customer_actions.update_account(account=account, name="Clinic 70", address="", notes="", actor=actor)
    customer_actions.update_site(
        site=site, name="Room 30", account=account, address="", notes="", actor=actor
    )
    account.refresh_from_db()
    site.refresh_from_db()
    assert (account.sort_name, site.sort_name) == (natural_sort_key("Clinic 70"), natural_sort_key("Room 30"))

    msp = org_actions.create_msp(
        distributor=tree.dist_a,
        name="MSP 4",
        city="York",
        state="",
        country="UK",
        postal_code="",
        actor=actor,
    )
    assert Organisation.objects.get(pk=msp.pk).sort_name == natural_sort_key("MSP 4")


@pytest.mark.parametrize("name", ["", "Ann 2"])
def test_a_user_sorts_by_name_or_else_email(tree, name):
    user = make_user(tree.dist_a, "Zed9@dist-a.test", full_name=name)
    assert user.sort_name == natural_sort_key(name or "zed9@dist-a.test")


def test_an_account_summary_names_a_few_sites_and_counts_the_rest(tree, client_for):
    for n in range(12):
        make_site(tree.account_a1, f"Branch {n}")

    body = text(
        client_for(tree.msp_a1_member).get(reverse("portal:account_detail", args=[tree.account_a1.pk]))
    )

    summary = body[body.index('id="detail-summary"') : body.index('id="product-panel"')]
    assert summary.count('href="/sites/') == 10
    assert "and 3 more in the Accounts/Sites panel" in summary
