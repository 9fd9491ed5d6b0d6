"""A key's Activation Details, and Deactivate, Reactivate, withdrawing a request and moving
a key (SPEC §6)."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Account, Site
from keyledger.keys import actions
from keyledger.keys.models import KeyEvent, ProductKey
from tests.keys.factories import PRODUCT_ACTOR, activated, call, reload, source

HTMX = {"HTTP_HX_REQUEST": "true"}
State = ProductKey.State


def detail_url(key) -> str:
    return reverse("portal:key_detail", kwargs={"key_id": key.pk})


def action_url(name: str, key) -> str:
    return reverse(f"portal:{name}", kwargs={"key_id": key.pk})


def text(response) -> str:
    return response.content.decode()


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def history(response) -> list[list[str]]:
    """The History table: one list of cell texts per row."""
    table = text(response).split('class="list key-history"')[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def status_badge(body: str) -> tuple[str, str, str]:
    """The Status of Activation Details: the badge's class, its mark and its (full) label."""
    match = re.search(
        r'<span class="badge ([^"]+)"[^>]*><span class="status-mark" aria-hidden="true">([^<]*)</span> '
        r'<span class="status-label" id="key-status">([^<]+)</span></span>',
        body,
    )
    assert match, "no status badge"
    return match.groups()


def buttons(response) -> list[str]:
    section = text(response).split('id="activation-details"')[1]
    return re.findall(r'<button[^>]*type="submit"[^>]*>([^<]+)</button>', section)


# --- Activation Details -----------------------------------------------------------------


def test_activation_details_show_what_the_product_reported(tree, client_for):
    key = activated(account=tree.account_a1, edition="vm", version="5.3.0", os="Windows 11")

    response = client_for(tree.msp_a1_member).get(detail_url(key))

    body = text(response)
    assert response.status_code == 200
    assert "<html" in body
    for shown in (
        key.key,
        "ShadowProtect for Managed Service Providers (SP-MSP)",
        "FS01",
        "HW-0001",
        "SW-0001",
        "Virtual Machine",
        "5.3.0",
        "Windows 11",
        f"{key.activated_at:%Y-%m-%d %H:%M} UTC",
        f"{key.lease_expires_at:%Y-%m-%d %H:%M} UTC",
    ):
        assert shown in body, shown
    assert status_badge(body) == ("status-ok", "\u2713", "OK")


def test_activation_details_of_imagemanager_and_gre_keys_show_their_own_fields(tree, client_for):
    (image,) = source(
        account=tree.account_a1,
        code="imagemanager",
        fields={"intelligentftp": 4, "shadowstream": 2, "headstart": 0},
    )
    call(image, jobs_in_use={"shadowstream": 1})
    (gre,) = source(
        account=tree.account_a1,
        code="gre",
        fields={"exchange_server_name": "MAIL01", "exchange_server_version": "Exchange 2016"},
    )
    client = client_for(tree.msp_a1_member)

    image_body = text(client.get(detail_url(image)))
    gre_body = text(client.get(detail_url(gre)))

    assert "<dt>intelligentFTP</dt><dd>4 jobs licensed, 0 in use</dd>" in image_body
    assert "<dt>ShadowStream</dt><dd>2 jobs licensed, 1 in use</dd>" in image_body
    assert "<dt>HeadStart Restore</dt><dd>0 jobs licensed, 0 in use</dd>" in image_body
    assert "<dt>Exchange Server Name</dt><dd>MAIL01</dd>" in gre_body
    assert "<dt>Exchange Server Version</dt><dd>Exchange 2016</dd>" in gre_body
    assert status_badge(gre_body) == ("status-off", "\u25cb", "Not activated")
    # Neither product has editions, nor can its keys be deactivated.
    assert "<dt>Edition</dt>" not in gre_body
    assert "keys are not deactivated or reactivated" in gre_body
    assert "Deactivate</button>" not in gre_body


def test_activation_details_show_the_full_history(tree, client_for):
    key = activated(account=tree.account_a1)
    member = tree.msp_a1_member
    actions.request_deactivation(key=key, actor=Actor(user=member))
    call(key)
    actions.request_reactivation(key=key, actor=Actor(user=member))

    rows = history(client_for(tree.msp_a1_admin).get(detail_url(key)))

    assert [row[1:] for row in rows] == [
        ["Sourced: Not activated", "User", "Keyledger"],
        ["Not activated → OK", "Call home", "The product on FS01"],
        ["OK → Deactivation requested \u2013 still active", "User", member.email],
        ["Deactivation requested \u2013 still active → Deactivated", "Call home", "The product on FS01"],
        ["Deactivated → Reactivation requested", "User", member.email],
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", row[0]) for row in rows)


def test_an_msp_sees_its_distributors_changes_by_organisation_not_by_person(tree, client_for):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=Actor(user=tree.dist_a_member))

    msp_view = history(client_for(tree.msp_a1_member).get(detail_url(key)))
    dist_view = history(client_for(tree.dist_a_admin).get(detail_url(key)))

    assert msp_view[-1][3] == "Northwind Distribution"
    assert dist_view[-1][3] == tree.dist_a_member.email


def test_the_edition_a_product_reports_is_in_the_history(tree, client_for):
    key = activated(account=tree.account_a1)
    call(key, edition="desktop")

    rows = history(client_for(tree.msp_a1_member).get(detail_url(key)))

    assert rows[-1][1] == "Edition reported: Desktop"


def test_activation_details_need_no_query_per_event(tree, client_for, django_assert_max_num_queries):
    key = activated(account=tree.account_a1)
    for _ in range(10):
        actions.request_deactivation(key=key, actor=Actor(user=tree.msp_a1_member))
        actions.request_reactivation(key=key, actor=Actor(user=tree.dist_a_member))
    client = client_for(tree.msp_a1_member)
    client.get(detail_url(key))

    # 10, and 3 for the billing section of a key active only this month: the months it was
    # active in, this month explained, this month's forecast (a query per month shown, never
    # per event).
    with django_assert_max_num_queries(13):
        response = client.get(detail_url(key))

    assert len(history(response)) == 22


def test_activation_details_open_in_the_panel_with_htmx(tree, client_for):
    (key,) = source(account=tree.account_a1)

    body = text(client_for(tree.msp_a1_member).get(detail_url(key), **HTMX))

    assert body.lstrip().startswith('<section id="activation-details"')
    assert "<html" not in body


def test_read_only_users_see_activation_details_without_buttons(tree, client_for):
    key = activated(account=tree.account_a1)

    response = client_for(tree.dist_a_readonly).get(detail_url(key))

    assert response.status_code == 200
    assert key.key in text(response)
    assert buttons(response) == []
    assert "Account/Site</label>" not in text(response)


def test_billing_users_may_not_open_activation_details(tree, client_for):
    (key,) = source(account=tree.account_a1)

    assert client_for(tree.dist_a_billing).get(detail_url(key)).status_code == 403


def test_activation_details_answer_get_only(tree, client_for):
    (key,) = source(account=tree.account_a1)

    assert client_for(tree.msp_a1_member).post(detail_url(key)).status_code == 405


# --- Deactivate, Reactivate, withdraw ---------------------------------------------------


def test_an_active_key_offers_deactivate(tree, client_for):
    key = activated(account=tree.account_a1)

    assert buttons(client_for(tree.msp_a1_member).get(detail_url(key))) == ["Deactivate", "Move key"]


def test_a_key_never_activated_offers_no_deactivate(tree, client_for):
    (key,) = source(account=tree.account_a1)

    response = client_for(tree.msp_a1_member).get(detail_url(key))

    assert buttons(response) == ["Move key"]
    assert "Deactivate applies once the product has called home" in text(response)


def test_deactivate_requests_the_deactivation(tree, client_for):
    key = activated(account=tree.account_a1)
    client = client_for(tree.msp_a1_member)

    response = client.post(action_url("deactivate_key", key))

    assert response.status_code == 302
    assert response["Location"] == detail_url(key)
    assert reload(key).state == State.DEACTIVATION_REQUESTED
    assert flashes(response) == ["Deactivation requested: it is final when the product next calls home."]
    page = client.get(detail_url(key))
    assert status_badge(text(page)) == (
        "status-pending",
        "\u25d4",
        "Deactivation requested \u2013 still active",
    )
    # The undo of a pending request says what it undoes.
    assert buttons(page) == ["Withdraw deactivation request", "Move key"]
    assert AuditEntry.objects.filter(action="key.request_deactivation", object_id=str(key.pk)).exists()
    event = KeyEvent.objects.filter(key=key).last()
    assert (event.new_state, event.cause, event.actor_user) == (
        State.DEACTIVATION_REQUESTED,
        KeyEvent.Cause.USER,
        tree.msp_a1_member,
    )


def test_deactivate_with_htmx_redraws_the_details_and_the_key_list(tree, client_for):
    key = activated(account=tree.account_a1)

    response = client_for(tree.dist_a_member).post(action_url("deactivate_key", key), **HTMX)

    body = text(response)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "keys-changed"
    assert body.lstrip().startswith('<section id="activation-details"')
    assert "Deactivation requested: it is final when the product next calls home." in body
    assert "Deactivation requested \u2013 still active</span>" in body


def test_a_deactivation_is_final_at_the_next_call_home(tree, client_for):
    key = activated(account=tree.account_a1)
    client = client_for(tree.msp_a1_member)
    client.post(action_url("deactivate_key", key))

    call(key)

    page = client.get(detail_url(key))
    assert status_badge(text(page)) == ("status-off", "\u2013", "Deactivated")
    assert buttons(page) == ["Reactivate", "Move key"]


def test_reactivate_a_deactivated_key(tree, client_for):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=PRODUCT_ACTOR)
    call(key)
    client = client_for(tree.msp_a1_member)

    response = client.post(action_url("reactivate_key", key))

    assert reload(key).state == State.REACTIVATION_REQUESTED
    assert flashes(response) == ["Reactivation requested: it is final when the product next calls home."]
    page = client.get(detail_url(key))
    assert status_badge(text(page))[2] == "Reactivation requested"
    assert buttons(page) == ["Withdraw reactivation request", "Move key"]


def test_reactivate_on_a_pending_deactivation_withdraws_it(tree, client_for):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=PRODUCT_ACTOR)

    response = client_for(tree.msp_a1_member).post(action_url("reactivate_key", key))

    assert reload(key).state == State.OK
    assert flashes(response) == ["Deactivation request withdrawn: the key stays active."]


def test_withdraw_reactivation_request_withdraws_it(tree, client_for):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=PRODUCT_ACTOR)
    call(key)
    actions.request_reactivation(key=key, actor=PRODUCT_ACTOR)

    response = client_for(tree.msp_a1_member).post(action_url("withdraw_key_request", key))

    assert reload(key).state == State.DEACTIVATED
    assert flashes(response) == ["Reactivation request withdrawn: the key stays deactivated."]


def test_withdraw_a_pending_deactivation(tree, client_for):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=PRODUCT_ACTOR)

    client_for(tree.msp_a1_member).post(action_url("withdraw_key_request", key))

    assert reload(key).state == State.OK


@pytest.mark.parametrize(
    ("make", "url_name", "message"),
    [
        (lambda t: source(account=t.account_a1)[0], "deactivate_key", "cannot be deactivated"),
        (lambda t: activated(account=t.account_a1), "reactivate_key", "cannot be reactivated"),
        (lambda t: activated(account=t.account_a1), "withdraw_key_request", "no pending request"),
        (
            lambda t: activated(account=t.account_a1, code="imagemanager"),
            "deactivate_key",
            "cannot be deactivated",
        ),
    ],
)
def test_a_refused_change_is_flashed_not_a_server_error(tree, client_for, make, url_name, message):
    key = make(tree)
    before = reload(key).state

    response = client_for(tree.msp_a1_member).post(action_url(url_name, key), follow=True)

    assert response.status_code == 200
    assert reload(key).state == before
    assert any(message in m for m in flashes(response)) or message in text(response)
    assert '<div class="flash flash-error" role="status">' in text(response)


def test_deactivating_a_key_offline_past_its_lease_is_final_at_once(tree, client_for):
    key = activated(account=tree.account_a1, now=timezone.now() - timedelta(days=31))

    response = client_for(tree.msp_a1_member).post(action_url("deactivate_key", key))

    assert reload(key).state == State.DEACTIVATED
    assert flashes(response) == [
        "Deactivated at once: the product had not called home within its offline lease."
    ]


@pytest.mark.parametrize("url_name", ["deactivate_key", "reactivate_key", "withdraw_key_request", "move_key"])
def test_read_only_users_may_not_change_keys(tree, client_for, url_name):
    key = activated(account=tree.account_a1)

    response = client_for(tree.dist_a_readonly).post(
        action_url(url_name, key), {"move-placement": f"site-{tree.site_a1.pk}"}
    )

    assert response.status_code == 403
    assert reload(key).state == State.OK
    assert reload(key).site is None


@pytest.mark.parametrize("url_name", ["deactivate_key", "reactivate_key", "withdraw_key_request", "move_key"])
def test_key_changes_answer_post_only(tree, client_for, url_name):
    key = activated(account=tree.account_a1)

    assert client_for(tree.msp_a1_member).get(action_url(url_name, key)).status_code == 405


# --- moving a key -----------------------------------------------------------------------


def test_move_a_key_to_a_site_of_another_account_of_its_msp(tree, client_for):
    other = Account.objects.create(msp=tree.msp_a1, name="Alpha Vets")
    other_site = Site.objects.create(account=other, name="Alpha Vets Hill")
    key = activated(account=tree.account_a1)
    client = client_for(tree.msp_a1_member)
    page = client.get(detail_url(key))
    assert f'<option value="account-{tree.account_a1.pk}" selected>Alpha Dental</option>' in text(page)
    assert f'<option value="site-{other_site.pk}">Alpha Vets / Alpha Vets Hill</option>' in text(page)
    assert "Bravo Legal" not in text(page)

    response = client.post(action_url("move_key", key), {"move-placement": f"site-{other_site.pk}"})

    moved = reload(key)
    assert (moved.account, moved.site) == (other, other_site)
    assert flashes(response) == ["Key moved to Alpha Vets / Alpha Vets Hill."]
    assert AuditEntry.objects.filter(action="key.move", object_id=str(key.pk)).exists()


def test_move_a_key_back_to_the_account_with_htmx(tree, client_for):
    (key,) = source(account=tree.account_a1, site=tree.site_a1)

    response = client_for(tree.dist_a_admin).post(
        action_url("move_key", key), {"move-placement": f"account-{tree.account_a1.pk}"}, **HTMX
    )

    assert response["HX-Trigger"] == "keys-changed"
    assert "Key moved to Alpha Dental." in text(response)
    assert reload(key).site is None


def test_a_key_does_not_move_to_another_msp(tree, client_for):
    (key,) = source(account=tree.account_a1)

    response = client_for(tree.dist_a_admin).post(
        action_url("move_key", key), {"move-placement": f"account-{tree.account_a2.pk}"}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert reload(key).account == tree.account_a1


def test_a_history_restore_gets_the_whole_page(tree, client_for):
    # htmx pushed /keys/<id>/ when the details opened in the panel; going back to it later
    # asks for the page itself.
    (key,) = source(account=tree.account_a1)

    body = text(
        client_for(tree.msp_a1_member).get(detail_url(key), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    )

    assert "<html" in body
    assert 'id="activation-details"' in body
