"""The top bar's search: every kind found, in the spellings people type, within the user's
own subtree only; one match opens it, several are listed, bad input is a clear message."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from keyledger.access.search import LIMIT, parse
from keyledger.customers.models import Account, Site
from keyledger.keys.keyformat import ALPHABET, LENGTH, KeyFormatError, check_symbol, format_key
from keyledger.keys.models import ProductKey
from tests.access.test_outsiders import SCENARIOS, VICTIM_NAMES
from tests.keys.factories import activated, source

URL = reverse("portal:search")


def machine(name: str) -> dict[str, str]:
    return {"name": name, "hardware_id": f"HW-{name}", "software_id": f"SW-{name}"}


def search(client, q: str, **params):
    return client.get(URL, {"q": q, **params})


def found(response, kind: str = "keys") -> list:
    assert response.status_code == 200, response
    group = response.context["results"].groups.get(kind)
    return [] if group is None else group.items


def keys_reached(response) -> set[int]:
    """The ids of the keys a search lists, or of the one it opens."""
    if response.status_code == 302:
        match = resolve(response["Location"])
        assert match.view_name == "portal:key_detail"
        return {match.kwargs["key_id"]}
    return {k.pk for k in found(response)}


def key_with(prefix: str) -> str:
    """A valid key (check symbol and all) that starts with the given symbols."""
    body = (prefix + ALPHABET[7] * LENGTH)[: LENGTH - 1]
    return format_key(body + check_symbol(body))


def place_key(account: Account, key: str, *, site: Site | None = None) -> ProductKey:
    (made,) = source(account=account, site=site)
    ProductKey.objects.filter(pk=made.pk).update(key=key)
    made.refresh_from_db()
    return made


@pytest.fixture
def fleet(tree):
    """One activated key in each MSP, on machines named after the MSP."""
    keys = {
        "a1": activated(account=tree.account_a1, machine=machine("SRV-ACME-01")),
        "a2": activated(account=tree.account_a2, machine=machine("SRV-BLUE-01")),
        "a3": activated(account=tree.account_a3, machine=machine("SRV-COBALT-01")),
        "b1": activated(account=tree.account_b1, machine=machine("SRV-DINGO-01")),
    }
    return keys


# --- Product keys -------------------------------------------------------------------------------


def test_a_whole_key_opens_its_activation_details(tree, fleet, client_for):
    key = fleet["a1"]
    response = search(client_for(tree.dist_a_admin), key.key)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:key_detail", kwargs={"key_id": key.pk})


@pytest.mark.parametrize(
    "spelling",
    [
        lambda k: k.lower(),
        lambda k: k.replace("-", ""),
        lambda k: k.replace("-", " "),
        lambda k: f"  {k.lower().replace('-', '')}  ",
        lambda k: k.replace("0", "O").replace("1", "l").lower(),
        lambda k: k[:8] + "-" + k[8:].replace("-", ""),
    ],
)
def test_a_whole_key_is_found_in_any_spelling_the_key_format_accepts(tree, client_for, spelling):
    key = place_key(tree.account_a1, key_with("A01B1"))
    response = search(client_for(tree.msp_a1_member), spelling(key.key))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:key_detail", kwargs={"key_id": key.pk})


@pytest.mark.parametrize("typed", ["k7m2q", "K7M2Q", "K7M2Q-", "k7m2-q", "K7M2Q-R", "k7m2qr9", "K7M2Q R9"])
def test_the_first_five_or_more_symbols_find_the_keys_that_start_with_them(tree, client_for, typed):
    wanted = place_key(tree.account_a1, key_with("K7M2QR9"))
    other = place_key(tree.account_a1, key_with("K7M2QR8"))
    elsewhere = place_key(tree.account_a1, key_with("K7M2P"))
    client = client_for(tree.dist_a_admin)
    response = search(client, typed)
    expected = {wanted} if "r9" in typed.lower().replace(" ", "") else {wanted, other}
    if response.status_code == 302:
        assert len(expected) == 1
        assert response["Location"] == reverse("portal:key_detail", kwargs={"key_id": wanted.pk})
    else:
        assert set(found(response)) == expected
        assert elsewhere not in found(response)


def test_a_prefix_of_the_last_symbols_of_the_alphabet_has_no_upper_bound_problem(tree, client_for):
    last = ALPHABET[-1]
    wanted = place_key(tree.account_a1, key_with(last * 6))
    place_key(tree.account_a1, key_with(last * 4 + "Y"))
    response = search(client_for(tree.dist_a_admin), last * 5)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:key_detail", kwargs={"key_id": wanted.pk})


def test_fewer_than_five_symbols_do_not_search_keys_by_prefix(tree, client_for):
    place_key(tree.account_a1, key_with("Q9RST"))
    query = parse("q9rs")
    assert query.key is None and query.key_prefix is None
    response = search(client_for(tree.dist_a_admin), "Q9RS")
    assert found(response) == []
    assert "No matches for “Q9RS”" in response.text


def test_a_mistyped_whole_key_says_so(tree, fleet, client_for):
    key = fleet["a1"].key
    wrong = key[:-1] + next(s for s in ALPHABET if s != key[-1])
    response = search(client_for(tree.dist_a_admin), wrong)
    assert response.status_code == 200
    assert KeyFormatError.MESSAGES[KeyFormatError.Reason.CHECK] in response.text


# --- Machine names ------------------------------------------------------------------------------


def test_a_machine_name_ignoring_case_opens_its_key(tree, fleet, client_for):
    response = search(client_for(tree.dist_a_admin), "srv-acme-01")
    assert response["Location"] == reverse("portal:key_detail", kwargs={"key_id": fleet["a1"].pk})


def test_machine_names_are_found_by_their_beginning_the_exact_one_first(tree, fleet, client_for):
    exact = activated(account=tree.account_a1, machine=machine("srv"))
    longer = activated(account=tree.account_a1, machine=machine("SRV-ACME-02"))
    response = search(client_for(tree.msp_a1_admin), "SRV")
    keys = found(response)
    assert keys[0] == exact
    assert set(keys) == {exact, longer, fleet["a1"]}
    # The beginning of the name, not any part of it.
    assert search(client_for(tree.msp_a1_admin), "acme-0").context["results"].total == 0


def test_a_machine_name_with_characters_that_sort_oddly_is_found_by_its_beginning(tree, client_for):
    odd = activated(account=tree.account_a1, machine=machine("WS_10.Ünïcode-%"))
    for typed in ("WS_", "ws_10.", "WS_10.Ünïcode-%"):
        response = search(client_for(tree.dist_a_admin), typed)
        assert response.status_code == 302, typed
        assert response["Location"] == reverse("portal:key_detail", kwargs={"key_id": odd.pk})
    assert found(search(client_for(tree.dist_a_admin), "WS%")) == []


# --- Accounts, sites, MSPs, distributors ------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "url_name", "target"),
    [
        ("charlie farms", "portal:account_detail", "account_a3"),
        ("HARBOUR", "portal:site_detail", "site_a2"),
        ("cobalt", "portal:msp_key_management", "msp_a3"),
    ],
)
def test_one_named_thing_opens_its_page(tree, client_for, typed, url_name, target):
    obj = getattr(tree, target)
    argument = {"portal:account_detail": "account_id", "portal:site_detail": "site_id"}.get(
        url_name, "msp_id"
    )
    response = search(client_for(tree.dist_a_admin), typed)
    assert response.status_code == 302
    assert response["Location"] == reverse(url_name, kwargs={argument: obj.pk})


def test_several_matches_are_listed_by_kind_each_a_link(tree, fleet, client_for):
    response = search(client_for(tree.dist_a_admin), "Alpha")
    assert found(response, "accounts") == [tree.account_a1]
    assert found(response, "sites") == [tree.site_a1]
    assert reverse("portal:account_detail", kwargs={"account_id": tree.account_a1.pk}) in response.text
    assert reverse("portal:site_detail", kwargs={"site_id": tree.site_a1.pk}) in response.text
    keys = search(client_for(tree.dist_a_admin), "srv-")
    assert "SRV-BLUE-01" in keys.text and "Bravo Legal" in keys.text and "Bluebird Managed" in keys.text
    assert "status-ok" in keys.text and "OK</span>" in keys.text


def test_an_exact_name_ranks_before_names_that_contain_it(tree, client_for):
    Account.objects.create(msp=tree.msp_a1, name="The Dental Group")
    Account.objects.create(msp=tree.msp_a1, name="Dental")
    names = [a.name for a in found(search(client_for(tree.msp_a1_admin), "dental"), "accounts")]
    assert names == ["Dental", "Alpha Dental", "The Dental Group"]


def test_distributors_are_found_by_who_may_open_them(tree, client_for):
    response = search(client_for(tree.vendor_admin), "Distribution")
    assert response["Location"] == reverse("portal:organisation", kwargs={"organisation_id": tree.dist_a.pk})
    assert search(client_for(tree.dist_a_member), "Northwind").context["results"].total == 0


def test_more_than_the_limit_says_more_and_lists_the_kind_on_its_own(tree, client_for):
    Account.objects.bulk_create(Account(msp=tree.msp_a1, name=f"Zeta {n:03}") for n in range(LIMIT + 5))
    client = client_for(tree.msp_a1_admin)
    response = search(client, "zeta")
    assert len(found(response, "accounts")) == LIMIT
    assert "more…" in response.text and "kind=accounts" in response.text
    everything = search(client, "zeta", kind="accounts")
    assert len(found(everything, "accounts")) == LIMIT + 5
    assert set(everything.context["results"].groups) == {"accounts"}


# --- Who finds what -----------------------------------------------------------------------------

VISIBLE = {
    "vendor_admin": {"a1", "a2", "a3", "b1"},
    "dist_a_admin": {"a1", "a2", "a3"},
    "dist_a_member": {"a1", "a2", "a3"},
    "dist_a_readonly": {"a1", "a2", "a3"},
    "msp_a1_admin": {"a1"},
    "msp_a1_member": {"a1"},
    "msp_a2_admin": {"a2"},
    "dist_b_admin": {"b1"},
    "msp_b1_admin": {"b1"},
}


@pytest.mark.parametrize("user", VISIBLE)
def test_each_user_finds_only_keys_of_its_own_subtree(tree, fleet, client_for, user):
    client = client_for(getattr(tree, user))
    assert keys_reached(search(client, "srv-")) == {fleet[m].pk for m in VISIBLE[user]}
    for name, key in fleet.items():
        response = search(client, key.key)
        if name in VISIBLE[user]:
            assert response.status_code == 302
        else:
            # A single match outside the subtree must not open, nor show, anything.
            assert response.status_code == 200
            assert response.context["results"].total == 0
            assert key.key not in response.text.split("</h1>", 1)[1]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_an_outsider_finds_nothing_of_the_victims_by_name(tree, fleet, client_for, scenario):
    user, _ = SCENARIOS[scenario](tree)
    client = client_for(user)
    for name in VICTIM_NAMES[scenario]:
        response = search(client, name)
        assert response.status_code == 200, f"{name} opened {response.get('Location')}"
        assert response.context["results"].total == 0, name


def test_a_billing_user_may_not_search(tree, client_for):
    assert search(client_for(tree.dist_a_billing), "Alpha").status_code == 403
    assert 'id="topbar-search"' not in client_for(tree.dist_a_billing).get(reverse("portal:reports")).text


def test_signed_out_is_sent_to_sign_in(client, tree):
    response = search(client, "Alpha")
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]


# --- Input and cost ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type a Product Key"),
        ("   \t ", "Type a Product Key"),
        ("x" * 201, "at most 200 characters"),
        ("Alpha\x00Dental", "control characters"),
        ("\x1b[31m", "control characters"),
    ],
)
def test_bad_input_is_a_clear_message(tree, client_for, typed, message):
    response = search(client_for(tree.dist_a_admin), typed)
    assert response.status_code == 200
    assert message in response.text
    assert "You can search for" in response.text


def test_the_page_without_a_query_says_what_can_be_searched(tree, client_for):
    response = client_for(tree.dist_a_admin).get(URL)
    assert response.status_code == 200 and "You can search for" in response.text


def test_the_top_bar_has_an_accessible_search_box(tree, client_for):
    body = client_for(tree.msp_a1_member).get(reverse("portal:key_management"), follow=True).text
    assert 'role="search"' in body
    assert 'aria-label="Search keys, machines, accounts, sites"' in body
    distributor = client_for(tree.dist_a_admin).get(reverse("portal:key_management")).text
    assert 'aria-label="Search keys, machines, accounts, sites, MSPs"' in distributor
    assert f'action="{URL}"' in body and 'name="q"' in body


def test_only_get(tree, client_for):
    assert client_for(tree.dist_a_admin).post(URL, {"q": "Alpha"}).status_code == 405


def queries_of(client, q: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        search(client, q)
    return len(captured)


def test_the_number_of_queries_does_not_grow_with_the_keys(tree, client_for):
    client = client_for(tree.dist_a_admin)
    place_key(tree.account_a1, key_with("P4X9ZY"))
    place_key(tree.account_a1, key_with("P4X9ZZ"))
    activated(account=tree.account_a1, machine=machine("WS-000"))
    activated(account=tree.account_a1, machine=machine("WS-100"))
    few = (queries_of(client, "P4X9Z"), queries_of(client, "ws-"), queries_of(client, "Alpha"))
    for n in range(1, LIMIT + 5):
        place_key(tree.account_a1, key_with(f"P4X9Z{ALPHABET[n % 32]}"), site=tree.site_a1)
        activated(account=tree.account_a2, machine=machine(f"WS-{n:03}"))
    many = (queries_of(client, "P4X9Z"), queries_of(client, "ws-"), queries_of(client, "Alpha"))
    assert many == few
