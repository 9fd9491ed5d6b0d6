import re

import pytest
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Account, Site
from keyledger.organisations.models import Organisation
from keyledger.testing.tree import make_org


def msp_page(msp) -> str:
    return reverse("portal:msp_key_management", kwargs={"msp_id": msp.pk})


def account_url(account) -> str:
    return reverse("portal:account_detail", kwargs={"account_id": account.pk})


def site_url(site) -> str:
    return reverse("portal:site_detail", kwargs={"site_id": site.pk})


def new_account_url(msp) -> str:
    return reverse("portal:account_create", kwargs={"msp_id": msp.pk})


def new_site_url(msp) -> str:
    return reverse("portal:site_create", kwargs={"msp_id": msp.pk})


def text(response) -> str:
    return response.content.decode()


def field_error(response, field: str) -> str:
    match = re.search(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', text(response))
    assert match, f"no error next to {field}"
    return match.group(1)


# --- the Key Management tab -------------------------------------------------------------


def test_an_msp_user_is_sent_to_its_own_msp(tree, client_for):
    response = client_for(tree.msp_a1_member).get(reverse("portal:key_management"))

    assert response.status_code == 302
    assert response["Location"] == msp_page(tree.msp_a1)


def test_a_distributor_picks_among_its_msps(tree, client_for):
    response = client_for(tree.dist_a_admin).get(reverse("portal:key_management"))

    assert response.status_code == 200
    body = text(response)
    for msp in (tree.msp_a1, tree.msp_a2, tree.msp_a3):
        assert f'href="{msp_page(msp)}"' in body
    assert tree.msp_b1.name not in body


def test_the_msp_picker_searches_by_name(tree, client_for):
    response = client_for(tree.dist_a_readonly).get(reverse("portal:key_management"), {"q": "BLUE"})

    body = text(response)
    assert tree.msp_a2.name in body
    assert tree.msp_a1.name not in body


def test_the_msp_picker_is_paginated_without_a_query_per_row(tree, client_for, django_assert_max_num_queries):
    for n in range(60):
        msp = make_org(parent=tree.dist_a, kind=Organisation.Kind.MSP, name=f"Zulu {n:02}")
        Account.objects.create(msp=msp, name="Customer")
    client = client_for(tree.dist_a_admin)

    with django_assert_max_num_queries(10):
        first = client.get(reverse("portal:key_management"), {"q": "zulu"})
    second = client.get(reverse("portal:key_management"), {"q": "zulu", "page": 3})

    assert "Zulu 00" in text(first)
    assert "Zulu 25" not in text(first)
    assert "Page 1 of 3" in text(first)
    assert "Zulu 59" in text(second)


def test_billing_users_have_no_key_management(tree, client_for):
    client = client_for(tree.dist_a_billing)

    assert client.get(reverse("portal:key_management")).status_code == 403
    assert client.get(msp_page(tree.msp_a1)).status_code == 403
    assert client.get(account_url(tree.account_a1)).status_code == 403
    assert client.get(site_url(tree.site_a1)).status_code == 403
    assert client.get(new_account_url(tree.msp_a1)).status_code == 403
    assert (
        client.post(new_site_url(tree.msp_a1), {"name": "X", "account": tree.account_a1.pk}).status_code
        == 403
    )
    assert not Site.objects.filter(name="X").exists()


# --- an MSP's page: the Accounts/Sites tree ---------------------------------------------


@pytest.mark.parametrize("who", ["msp_a1_admin", "dist_a_admin", "dist_a_readonly"])
def test_the_msp_page_shows_the_tree(tree, client_for, who):
    response = client_for(getattr(tree, who)).get(msp_page(tree.msp_a1))

    assert response.status_code == 200
    body = text(response)
    assert "Accounts/Sites" in body
    assert f'href="{account_url(tree.account_a1)}"' in body
    assert f'href="{site_url(tree.site_a1)}"' in body
    assert tree.account_a2.name not in body


def test_members_get_the_add_buttons_and_read_only_users_do_not(tree, client_for):
    member = text(client_for(tree.msp_a1_member).get(msp_page(tree.msp_a1)))
    readonly = text(client_for(tree.dist_a_readonly).get(msp_page(tree.msp_a1)))

    assert "Add Account" in member
    assert "Add Site" in member
    assert "Add Account" not in readonly
    assert "Add Site" not in readonly


def test_the_msp_page_only_answers_get(tree, client_for):
    assert client_for(tree.msp_a1_admin).post(msp_page(tree.msp_a1)).status_code == 405


def test_an_msp_without_accounts_invites_to_add_one(tree, client_for):
    msp = make_org(parent=tree.dist_a, kind=Organisation.Kind.MSP, name="Empty IT")

    body = text(client_for(tree.dist_a_admin).get(msp_page(msp)))

    assert "has no accounts yet" in body
    assert "Add Site" not in body


@pytest.mark.parametrize("page", ["msp", "account", "site"])
def test_the_tree_costs_the_same_few_queries_however_big(
    tree, client_for, django_assert_max_num_queries, page
):
    for a in range(40):
        account = Account.objects.create(msp=tree.msp_a1, name=f"Bulk {a:02}")
        Site.objects.bulk_create(Site(account=account, name=f"Bulk {a:02} site {s}") for s in range(5))
    url = {
        "msp": msp_page(tree.msp_a1),
        "account": account_url(tree.account_a1),
        "site": site_url(tree.site_a1),
    }
    client = client_for(tree.msp_a1_admin)

    with django_assert_max_num_queries(12):
        response = client.get(url[page])

    assert response.status_code == 200
    assert text(response).count('href="/sites/') >= 201


def test_the_selected_site_is_marked_and_its_account_open(tree, client_for):
    body = text(client_for(tree.msp_a1_admin).get(site_url(tree.site_a1)))

    assert f'href="{site_url(tree.site_a1)}" title="{tree.site_a1.name}" aria-current="true">' in body
    assert f'aria-controls="tree-sites-{tree.account_a1.pk}" aria-expanded="true"' in body
    assert f"{new_site_url(tree.msp_a1)}?account={tree.account_a1.pk}" in body


# --- accounts ---------------------------------------------------------------------------


def test_add_account_shows_the_new_account_detail_panel(tree, client_for):
    response = client_for(tree.msp_a1_admin).get(new_account_url(tree.msp_a1))

    body = text(response)
    assert "New Account Detail" in body
    for label in ("Account Name", "Address", "Notes"):
        assert re.search(rf"<label for=\"id_\w+\"[^>]*>{label}</label>", body), label


@pytest.mark.parametrize("who", ["msp_a1_admin", "msp_a1_member", "dist_a_admin", "dist_a_member"])
def test_add_account(tree, client_for, who):
    response = client_for(getattr(tree, who)).post(
        new_account_url(tree.msp_a1),
        {"name": "Echo Clinic", "address": "1 High St", "notes": ""},
        follow=True,
    )

    account = Account.objects.get(msp=tree.msp_a1, name="Echo Clinic")
    assert response.redirect_chain == [(account_url(account), 302)]
    assert "Account “Echo Clinic” added." in text(response)
    assert AuditEntry.objects.get(action="account.create").actor_user == getattr(tree, who)


def test_a_distributor_adds_accounts_for_an_msp_without_portal_access(tree, client_for):
    client_for(tree.dist_a_admin).post(new_account_url(tree.msp_a3), {"name": "Lima Farms"})

    assert Account.objects.filter(msp=tree.msp_a3, name="Lima Farms").exists()


def test_a_duplicate_account_name_is_an_error_next_to_the_field(tree, client_for):
    response = client_for(tree.msp_a1_admin).post(new_account_url(tree.msp_a1), {"name": "ALPHA dental"})

    assert response.status_code == 200
    assert "Acme IT already has an account named “ALPHA dental”." in field_error(response, "name")
    assert Account.objects.filter(msp=tree.msp_a1).count() == 1


def test_an_account_name_is_required(tree, client_for):
    response = client_for(tree.msp_a1_admin).post(new_account_url(tree.msp_a1), {"name": ""})

    assert field_error(response, "name") == "This field is required."


def test_read_only_users_cannot_add_accounts(tree, client_for):
    client = client_for(tree.dist_a_readonly)

    assert client.get(new_account_url(tree.msp_a1)).status_code == 403
    assert client.post(new_account_url(tree.msp_a1), {"name": "Mike Co"}).status_code == 403
    assert not Account.objects.filter(name="Mike Co").exists()


def test_account_detail_is_a_summary_with_its_sites_and_an_edit_button(tree, client_for):
    body = text(client_for(tree.msp_a1_member).get(account_url(tree.account_a1)))

    assert "<dt>Account Name</dt><dd>Alpha Dental</dd>" in body
    assert 'value="Alpha Dental"' not in body
    assert ">Save</button>" not in body
    assert f'href="{account_url(tree.account_a1)}?edit=1"' in body
    assert f'<a href="{site_url(tree.site_a1)}">Alpha Dental Main Street</a>' in body
    assert 'id="product-panel"' in body


def test_edit_opens_the_account_form_and_cancel_closes_it(tree, client_for):
    client = client_for(tree.msp_a1_member)

    page = text(client.get(account_url(tree.account_a1), {"edit": "1"}))
    fragment = text(
        client.get(account_url(tree.account_a1), {"edit": "1", "fragment": "1"}, HTTP_HX_REQUEST="true")
    )
    cancel = text(client.get(account_url(tree.account_a1), {"fragment": "1"}, HTTP_HX_REQUEST="true"))

    assert 'value="Alpha Dental"' in page and ">Save</button>" in page and 'id="product-panel"' in page
    assert fragment.lstrip().startswith('<section id="detail-summary"')
    assert 'value="Alpha Dental"' in fragment and ">Cancel</a>" in fragment
    assert "Accounts/Sites" not in fragment and "product-panel" not in fragment
    assert "<dt>Account Name</dt><dd>Alpha Dental</dd>" in cancel and "<form" not in cancel
    # The summary after Cancel is the summary of the page: the account's sites, not "no sites".
    assert f'href="{site_url(tree.site_a1)}">{tree.site_a1.name}</a>' in cancel
    assert "This account has no sites." not in cancel


def test_edit_account(tree, client_for):
    response = client_for(tree.dist_a_admin).post(
        account_url(tree.account_a1),
        {"name": "Alpha Dental Group", "address": "", "notes": "Ann"},
        follow=True,
    )

    tree.account_a1.refresh_from_db()
    assert (tree.account_a1.name, tree.account_a1.notes) == ("Alpha Dental Group", "Ann")
    assert response.redirect_chain == [(account_url(tree.account_a1), 302)]
    assert "Account “Alpha Dental Group” saved." in text(response)


def test_renaming_an_account_to_a_taken_name_is_an_error_next_to_the_field(tree, client_for):
    Account.objects.create(msp=tree.msp_a1, name="November Inc")

    response = client_for(tree.msp_a1_admin).post(account_url(tree.account_a1), {"name": "november inc"})

    assert "already has an account named" in field_error(response, "name")
    tree.account_a1.refresh_from_db()
    assert tree.account_a1.name == "Alpha Dental"


def test_read_only_users_see_an_account_but_cannot_change_it(tree, client_for):
    client = client_for(tree.dist_a_readonly)

    body = text(client.get(account_url(tree.account_a1)))
    response = client.post(account_url(tree.account_a1), {"name": "Hijacked"})

    assert "<dt>Account Name</dt><dd>Alpha Dental</dd>" in body
    assert "?edit=1" not in body
    assert '<form method="post" action="/accounts/' not in body
    assert ">Save</button>" not in body
    assert response.status_code == 403
    tree.account_a1.refresh_from_db()
    assert tree.account_a1.name == "Alpha Dental"


# --- sites ------------------------------------------------------------------------------


def test_add_site_defaults_to_the_selected_account(tree, client_for):
    other = Account.objects.create(msp=tree.msp_a1, name="Oscar Ltd")

    body = text(client_for(tree.msp_a1_admin).get(new_site_url(tree.msp_a1), {"account": other.pk}))

    assert "New Site Detail" in body
    assert f'<option value="{other.pk}" selected>Oscar Ltd</option>' in body
    # The tree keeps the account selected: open, and still the default of Add Site.
    assert body.count('aria-expanded="true"') == 1
    assert f'aria-controls="tree-sites-{other.pk}" aria-expanded="true"' in body
    assert f'{new_site_url(tree.msp_a1)}?account={other.pk}"' in body
    for label in ("Site Name", "Account", "Address", "Notes"):
        assert re.search(rf"<label for=\"id_\w+\"[^>]*>{label}</label>", body), label


def test_add_site_offers_only_the_msps_accounts(tree, client_for):
    body = text(client_for(tree.dist_a_admin).get(new_site_url(tree.msp_a1)))

    assert f'<option value="{tree.account_a1.pk}"' in body
    assert f'<option value="{tree.account_a2.pk}"' not in body


def test_add_site(tree, client_for):
    response = client_for(tree.msp_a1_member).post(
        new_site_url(tree.msp_a1), {"name": "Alpha Dental Annex", "account": tree.account_a1.pk}, follow=True
    )

    site = Site.objects.get(name="Alpha Dental Annex")
    assert site.account == tree.account_a1
    assert response.redirect_chain == [(site_url(site), 302)]
    assert "Site “Alpha Dental Annex” added to account “Alpha Dental”." in text(response)


def test_a_site_cannot_be_added_to_an_account_of_another_msp(tree, client_for):
    response = client_for(tree.dist_a_admin).post(
        new_site_url(tree.msp_a1), {"name": "Smuggled", "account": tree.account_a2.pk}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in field_error(response, "account")
    assert not Site.objects.filter(name="Smuggled").exists()


def test_a_duplicate_site_name_is_an_error_next_to_the_field(tree, client_for):
    response = client_for(tree.msp_a1_admin).post(
        new_site_url(tree.msp_a1), {"name": "alpha dental MAIN street", "account": tree.account_a1.pk}
    )

    assert "already has a site named" in field_error(response, "name")
    assert tree.account_a1.sites.count() == 1


def test_read_only_users_cannot_add_sites(tree, client_for):
    client = client_for(tree.dist_a_readonly)

    assert client.get(new_site_url(tree.msp_a1)).status_code == 403
    assert (
        client.post(new_site_url(tree.msp_a1), {"name": "Nope", "account": tree.account_a1.pk}).status_code
        == 403
    )


def test_site_detail_is_a_summary_with_its_account(tree, client_for):
    body = text(client_for(tree.msp_a1_admin).get(site_url(tree.site_a1)))

    assert f'<dt>Account</dt><dd><a href="{account_url(tree.account_a1)}">Alpha Dental</a></dd>' in body
    assert f'href="{site_url(tree.site_a1)}?edit=1"' in body
    assert "<select" not in body


def test_editing_a_site_shows_the_form_with_the_account_select(tree, client_for):
    body = text(client_for(tree.msp_a1_admin).get(site_url(tree.site_a1), {"edit": "1"}))

    assert "Site Detail" in body
    assert 'value="Alpha Dental Main Street"' in body
    assert f'<option value="{tree.account_a1.pk}" selected>Alpha Dental</option>' in body
    assert 'id="product-panel"' in body


@pytest.mark.parametrize("who", ["msp_a1_admin", "dist_a_admin"])
def test_choosing_another_account_moves_the_site(tree, client_for, who):
    target = Account.objects.create(msp=tree.msp_a1, name="Papa Foods")

    response = client_for(getattr(tree, who)).post(
        site_url(tree.site_a1),
        {"name": tree.site_a1.name, "account": target.pk, "address": "", "notes": ""},
        follow=True,
    )

    tree.site_a1.refresh_from_db()
    assert tree.site_a1.account == target
    assert "Site “Alpha Dental Main Street” moved to account “Papa Foods”." in text(response)
    assert AuditEntry.objects.get().action == "site.move"


def test_a_site_cannot_move_to_an_account_of_another_msp(tree, client_for):
    response = client_for(tree.dist_a_admin).post(
        site_url(tree.site_a1), {"name": tree.site_a1.name, "account": tree.account_a2.pk}
    )

    assert "Select a valid choice" in field_error(response, "account")
    tree.site_a1.refresh_from_db()
    assert tree.site_a1.account == tree.account_a1


def test_saving_an_unchanged_site_says_so(tree, client_for):
    response = client_for(tree.msp_a1_admin).post(
        site_url(tree.site_a1), {"name": tree.site_a1.name, "account": tree.account_a1.pk}, follow=True
    )

    assert "Site “Alpha Dental Main Street” saved." in text(response)
    assert not AuditEntry.objects.exists()


def test_read_only_users_see_a_site_but_cannot_change_it(tree, client_for):
    target = Account.objects.create(msp=tree.msp_a1, name="Quebec Co")
    client = client_for(tree.dist_a_readonly)

    body = text(client.get(site_url(tree.site_a1)))
    response = client.post(site_url(tree.site_a1), {"name": "Moved", "account": target.pk})

    assert f'<dt>Account</dt><dd><a href="{account_url(tree.account_a1)}">Alpha Dental</a></dd>' in body
    assert ">Save</button>" not in body and "?edit=1" not in body
    assert ">Save</button>" not in text(client.get(site_url(tree.site_a1), {"edit": "1"}))
    assert response.status_code == 403
    tree.site_a1.refresh_from_db()
    assert tree.site_a1.account == tree.account_a1


def test_another_msps_objects_are_not_found(tree, client_for):
    client = client_for(tree.msp_a1_admin)

    assert client.get(site_url(tree.site_a2)).status_code == 404
    assert client.get(account_url(tree.account_a2)).status_code == 404
    assert client.get(msp_page(tree.msp_a2)).status_code == 404
    assert (
        client.post(new_site_url(tree.msp_a2), {"name": "X", "account": tree.account_a2.pk}).status_code
        == 404
    )
