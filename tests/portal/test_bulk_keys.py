"""Bulk work on a key list: Deactivate, Reactivate or move many keys with one confirmation,
each key through its own action, and a summary."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.customers.models import Site
from keyledger.keys import actions, bulk, states
from keyledger.keys.models import KeyEvent, ProductKey
from tests.keys.factories import PRODUCT_ACTOR, call, reload, source

HTMX = {"HTTP_HX_REQUEST": "true"}
State = ProductKey.State


def bulk_url(site) -> str:
    return reverse("portal:site_keys_bulk", kwargs={"site_id": site.pk})


def text(response) -> str:
    return response.content.decode()


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def at_site(tree, n: int = 1) -> list[ProductKey]:
    keys = []
    for _ in range(n):
        (key,) = source(account=tree.account_a1, site=tree.site_a1)
        call(key)
        keys.append(reload(key))
    return keys


def post(client, site, *, operation: str, keys=(), confirm: bool = False, htmx: bool = False, **extra):
    data = {"product": "spmsp", "operation": operation, "key": [str(k.pk) for k in keys], **extra}
    if confirm:
        data["confirm"] = "1"
    return client.post(bulk_url(site), data, **(HTMX if htmx else {}))


def test_the_first_post_asks_for_confirmation_and_changes_nothing(tree, client_for):
    keys = at_site(tree, 3)
    client = client_for(tree.msp_a1_member)

    response = post(client, tree.site_a1, operation="deactivate", keys=keys, htmx=True)

    body = text(response)
    assert response.status_code == 200
    assert "Deactivate 3 ShadowProtect keys?" in body
    assert "deactivated when its product next calls home" in body
    assert '<input type="hidden" name="confirm" value="1">' in body
    assert all(k.key in body for k in keys)
    assert {reload(k).state for k in keys} == {State.OK}


def test_bulk_deactivate_with_a_refusal_reports_each_and_audits_each(tree, client_for):
    keys = at_site(tree, 4)
    (never,) = source(account=tree.account_a1, site=tree.site_a1)
    client = client_for(tree.msp_a1_member)

    response = post(client, tree.site_a1, operation="deactivate", keys=[*keys, never], confirm=True)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:site_detail", args=[tree.site_a1.pk]) + "?product=spmsp"
    assert flashes(response) == [
        f"5 keys: 4 deactivation requested, 1 refused: {never.key} — "
        "A key that is not activated cannot be deactivated."
    ]
    assert {reload(k).state for k in keys} == {State.DEACTIVATION_REQUESTED}
    assert reload(never).state == State.UNUSED
    # The same trail as one key at a time: an audit row and an event per key, by the user.
    audits = AuditEntry.objects.filter(action="key.request_deactivation")
    assert sorted(a.object_id for a in audits) == sorted(str(k.pk) for k in keys)
    events = KeyEvent.objects.filter(transition="request_deactivation")
    assert {e.actor_user for e in events} == {tree.msp_a1_member} and events.count() == 4


def test_with_htmx_the_summary_shows_above_the_list(tree, client_for):
    keys = at_site(tree, 2)

    response = post(
        client_for(tree.msp_a1_member),
        tree.site_a1,
        operation="deactivate",
        keys=keys,
        confirm=True,
        htmx=True,
    )

    body = text(response)
    assert body.lstrip().startswith('<div id="key-panel"')
    assert (
        '<div class="flash flash-success bulk-summary" role="status">2 keys: 2 deactivation requested.</div>'
        in body
    )


def test_bulk_reactivate_withdraws_pending_deactivations_and_reactivates_deactivated_keys(tree, client_for):
    pending, off, active = at_site(tree, 3)
    actions.request_deactivation(key=pending, actor=PRODUCT_ACTOR)
    actions.request_deactivation(key=off, actor=PRODUCT_ACTOR)
    call(off)

    response = post(
        client_for(tree.msp_a1_member),
        tree.site_a1,
        operation="reactivate",
        keys=[pending, off, active],
        confirm=True,
    )

    (summary,) = flashes(response)
    assert summary.startswith("3 keys: ")
    assert "1 reactivation requested" in summary
    assert "1 deactivation request withdrawn" in summary
    assert f"1 refused: {active.key} — A key that is ok cannot be reactivated." in summary
    assert [reload(k).state for k in (pending, off, active)] == [
        State.OK,
        State.REACTIVATION_REQUESTED,
        State.OK,
    ]


def test_ids_outside_the_users_scope_or_this_site_are_not_found(tree, client_for):
    (mine,) = at_site(tree)
    (sibling_msp,) = source(account=tree.account_a2, site=tree.site_a2)
    call(sibling_msp)
    (other_distributor,) = source(account=tree.account_b1)
    call(other_distributor)
    (elsewhere,) = source(account=tree.account_a1)  # the account, not this site
    call(elsewhere)
    client = client_for(tree.msp_a1_member)

    response = post(
        client,
        tree.site_a1,
        operation="deactivate",
        keys=[mine, sibling_msp, other_distributor, elsewhere],
        confirm=True,
        extra_junk="x",
    )

    assert flashes(response) == ["4 keys: 1 deactivation requested, 3 not found."]
    for key in (sibling_msp, other_distributor, elsewhere):
        assert reload(key).state == State.OK
    assert not AuditEntry.objects.filter(
        action="key.request_deactivation", object_id__in=[str(sibling_msp.pk), str(other_distributor.pk)]
    ).exists()


def test_all_matching_reevaluates_the_filter_on_the_server(tree, client_for):
    fresh, silent1, silent2 = at_site(tree, 3)
    later = timezone.now() + timedelta(hours=73)
    call(fresh, now=later)
    with time_machine.travel(later, tick=False):
        client = client_for(tree.msp_a1_member)
        confirm = post(
            client, tree.site_a1, operation="deactivate", keys=[fresh], scope="all", status="critical"
        )
        response = post(
            client,
            tree.site_a1,
            operation="deactivate",
            keys=[fresh],
            scope="all",
            status="critical",
            confirm=True,
        )

    assert "Deactivate 2 ShadowProtect keys?" in text(confirm)
    assert flashes(response) == ["2 keys: 2 deactivation requested."]
    assert "status=critical" in response["Location"]
    assert reload(fresh).state == State.OK
    assert {reload(silent1).state, reload(silent2).state} == {State.DEACTIVATION_REQUESTED}


def test_values_that_cannot_be_key_ids_are_left_out(tree, client_for):
    (mine,) = at_site(tree)
    client = client_for(tree.msp_a1_member)
    data = {
        "product": "spmsp",
        "operation": "deactivate",
        "confirm": "1",
        "key": [str(mine.pk), "abc", "-3", "0", str(2**63), "9" * 40, "\u0661"],
    }

    response = client.post(bulk_url(tree.site_a1), data)

    assert response.status_code == 302
    assert flashes(response) == ["1 key: 1 deactivation requested."]
    assert reload(mine).state == State.DEACTIVATION_REQUESTED


def test_bulk_move_to_another_site_of_the_msp(tree, client_for):
    keys = at_site(tree, 2)
    riverside = Site.objects.create(account=tree.account_a1, name="Alpha Dental Riverside")
    client = client_for(tree.msp_a1_member)

    asked = post(client, tree.site_a1, operation="move", keys=keys)
    refused = post(
        client,
        tree.site_a1,
        operation="move",
        keys=keys,
        confirm=True,
        **{"move-placement": f"site-{tree.site_a2.pk}"},
    )
    moved = post(
        client,
        tree.site_a1,
        operation="move",
        keys=keys,
        confirm=True,
        **{"move-placement": f"site-{riverside.pk}"},
    )

    assert ">Account/Site</label>" in text(asked)
    assert "Alpha Dental / Alpha Dental Riverside" in text(asked)
    assert "Bravo Legal" not in text(asked)
    assert refused.status_code == 422 and "Select a valid choice" in text(refused)
    assert flashes(moved) == ["2 keys: 2 moved."]
    assert {reload(k).site_id for k in keys} == {riverside.pk}
    assert AuditEntry.objects.filter(action="key.move").count() == 2


def test_nothing_selected_is_said_not_done(tree, client_for):
    at_site(tree, 1)
    audit_rows = AuditEntry.objects.count()

    response = post(client_for(tree.msp_a1_member), tree.site_a1, operation="deactivate", htmx=True)

    assert "Select the keys first." in text(response)
    assert AuditEntry.objects.count() == audit_rows


@pytest.mark.parametrize("role", ["dist_a_readonly", "dist_a_billing"])
def test_roles_that_may_not_change_keys_are_refused(tree, client_for, role):
    keys = at_site(tree, 2)

    response = post(
        client_for(getattr(tree, role)), tree.site_a1, operation="deactivate", keys=keys, confirm=True
    )

    assert response.status_code == 403
    assert {reload(k).state for k in keys} == {State.OK}


def test_bulk_answers_post_only(tree, client_for):
    assert client_for(tree.msp_a1_member).get(bulk_url(tree.site_a1)).status_code == 405


# --- the action ------------------------------------------------------------------------


def test_a_refused_key_does_not_undo_the_others(tree):
    first, second = at_site(tree, 2)
    (never,) = source(account=tree.account_a1, site=tree.site_a1)

    result = bulk.change_keys(
        keys=[first, never, second], operation=bulk.Operation.DEACTIVATE, actor=Actor.system()
    )

    assert result.summary() == (
        f"3 keys: 2 deactivation requested, 1 refused: {never.key} — "
        "A key that is not activated cannot be deactivated."
    )
    assert {reload(first).state, reload(second).state} == {State.DEACTIVATION_REQUESTED}


def test_a_key_that_changed_meanwhile_is_reported_and_the_others_go_on(tree, monkeypatch):
    first, raced, last = at_site(tree, 3)
    real = actions.request_deactivation

    def racing(*, key, actor, now=None):
        if key.pk == raced.pk:
            raise states.Conflict(key.key)
        return real(key=key, actor=actor, now=now)

    monkeypatch.setattr(actions, "request_deactivation", racing)

    result = bulk.change_keys(
        keys=[first, raced, last], operation=bulk.Operation.DEACTIVATE, actor=Actor.system()
    )

    assert result.summary() == (
        f"3 keys: 2 deactivation requested, 1 refused: {raced.key} — it changed meanwhile; try again."
    )
    assert [reload(k).state for k in (first, raced, last)] == [
        State.DEACTIVATION_REQUESTED,
        State.OK,
        State.DEACTIVATION_REQUESTED,
    ]


def test_a_gre_key_is_refused_deactivation_by_its_product(tree):
    (gre,) = source(account=tree.account_a1, code="gre")
    gre = reload(gre)

    result = bulk.change_keys(keys=[gre], operation=bulk.Operation.DEACTIVATE, actor=Actor.system())

    assert result.refused[0].reason.endswith("keys cannot be deactivated or reactivated.")
    assert result.total == 1


def test_a_move_needs_a_destination(tree):
    with pytest.raises(ValueError):
        bulk.change_keys(keys=[], operation=bulk.Operation.MOVE, actor=Actor.system())
