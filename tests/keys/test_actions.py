from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from keyledger.audit.actor import Actor, Channel
from keyledger.audit.models import AuditEntry
from keyledger.customers.actions import update_site
from keyledger.customers.models import Site
from keyledger.keys import actions, keyformat
from keyledger.keys.models import KeyEvent, Product, ProductKey, SourcingRequest
from tests.keys.factories import activated, call, product, reload, replayed_state

State = ProductKey.State
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def actor(tree) -> Actor:
    return Actor(user=tree.msp_a1_admin, ip="192.0.2.1")


def source_with(tree, actor, code="spmsp", **kwargs):
    values = {"quantity": 1, "account": tree.account_a1, "site": None, "fields": None, "actor": actor}
    values.update(kwargs)
    return actions.source_keys(product=product(code), **values)


# --- Add Key(s) -------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [1, 7, 10])
def test_sources_the_quantity_asked_for(tree, actor, quantity):
    keys = source_with(tree, actor, quantity=quantity, site=tree.site_a1)
    assert len(keys) == quantity
    for key in ProductKey.objects.filter(pk__in=[k.pk for k in keys]):
        assert keyformat.normalise(key.key) == key.key
        assert key.state == State.UNUSED
        assert (key.msp, key.account, key.site) == (tree.msp_a1, tree.account_a1, tree.site_a1)
        assert key.created_by == tree.msp_a1_admin
        assert not key.has_machine and key.activated_at is None
        assert list(key.events.values_list("old_state", "new_state", "cause", "actor_user")) == [
            ("", "unused", "user", tree.msp_a1_admin.pk)
        ]
    entry = AuditEntry.objects.get(action="key.source")
    assert entry.organisation == tree.msp_a1
    assert entry.changes["quantity"] == quantity
    assert sorted(entry.changes["keys"]) == sorted(k.key for k in keys)
    assert entry.actor_user == tree.msp_a1_admin and entry.ip_address == "192.0.2.1"


@pytest.mark.parametrize(
    ("code", "quantity"), [("spmsp", 0), ("spmsp", 11), ("imagemanager", 11), ("gre", 2)]
)
def test_quantity_outside_the_product_limit_is_refused(tree, actor, code, quantity):
    with pytest.raises(ValidationError) as exc:
        source_with(tree, actor, code=code, quantity=quantity, fields={})
    assert "quantity" in exc.value.message_dict
    assert not ProductKey.objects.exists()


def test_gre_is_sourced_one_at_a_time_with_both_exchange_fields(tree, actor):
    with pytest.raises(ValidationError) as exc:
        source_with(tree, actor, code="gre", quantity=2)
    assert exc.value.message_dict["quantity"] == [
        "ShadowProtect Granular Recovery for Exchange (GRE) keys are sourced one at a time."
    ]
    with pytest.raises(ValidationError) as exc:
        source_with(
            tree, actor, code="gre", fields={"exchange_server_name": "  ", "exchange_server_version": ""}
        )
    assert set(exc.value.message_dict) == {"exchange_server_name", "exchange_server_version"}
    (key,) = source_with(
        tree, actor, code="gre", fields={"exchange_server_name": " EX01 ", "exchange_server_version": "2019"}
    )
    assert key.fields == {"exchange_server_name": "EX01", "exchange_server_version": "2019"}
    assert key.field_values() == [("Exchange Server Name", "EX01"), ("Exchange Server Version", "2019")]


def test_imagemanager_job_licenses_are_0_to_150_each(tree, actor):
    keys = source_with(
        tree, actor, code="imagemanager", quantity=2, fields={"intelligentftp": 150, "shadowstream": "3"}
    )
    assert keys[0].fields == {"intelligentftp": 150, "shadowstream": 3, "headstart": 0}
    assert keys[0].job_licenses == {"intelligentftp": 150, "shadowstream": 3, "headstart": 0}
    for bad in [151, -1, "many", 2.5, True]:
        with pytest.raises(ValidationError) as exc:
            source_with(tree, actor, code="imagemanager", fields={"headstart": bad})
        assert exc.value.message_dict == {"headstart": ["Choose a whole number from 0 to 150."]}, bad
    assert ProductKey.objects.count() == 2


@pytest.mark.parametrize(
    ("code", "fields"),
    [
        ("spmsp", {"shadowstream": 1}),
        ("gre", {"headstart": 1}),
        ("imagemanager", {"exchange_server_name": "x"}),
    ],
)
def test_fields_of_another_product_are_refused(tree, actor, code, fields):
    if code == "gre":
        fields = {**fields, "exchange_server_name": "EX", "exchange_server_version": "1"}
    with pytest.raises(ValidationError) as exc:
        source_with(tree, actor, code=code, fields=fields)
    (field,) = [f for f in exc.value.message_dict]
    assert field in fields
    assert not ProductKey.objects.exists()


def test_the_site_must_belong_to_the_account(tree, actor):
    with pytest.raises(ValidationError) as exc:
        source_with(tree, actor, account=tree.account_a1, site=tree.site_a2)
    assert "site" in exc.value.message_dict


def test_a_product_no_longer_offered_is_refused(tree, actor):
    Product.objects.filter(code="spmsp").update(is_active=False)
    with pytest.raises(ValidationError) as exc:
        source_with(tree, actor)
    assert "product" in exc.value.message_dict


def test_cloud_products_need_the_distributors_agreement(tree, actor):
    cloud = Product.objects.create(
        code="cloud-backup", name="Cloud Backup", tab_label="Cloud", family="cloud"
    )
    with pytest.raises(ValidationError) as exc:
        actions.source_keys(
            product=cloud, quantity=1, account=tree.account_a1, site=None, fields={}, actor=actor
        )
    assert "product" in exc.value.message_dict
    tree.dist_a.may_provision_cloud = True
    tree.dist_a.save(update_fields=["may_provision_cloud"])
    account = type(tree.account_a1).objects.select_related("msp__parent").get(pk=tree.account_a1.pk)
    assert (
        len(
            actions.source_keys(product=cloud, quantity=1, account=account, site=None, fields={}, actor=actor)
        )
        == 1
    )


def test_all_keys_of_a_request_are_created_together_or_not_at_all(tree, actor, monkeypatch):
    # The third key collides with the first: the whole request must roll back.
    made: list[str] = []
    generate = keyformat.generate

    def colliding() -> str:
        made.append(generate() if len(made) < 2 else made[0])
        return made[-1]

    monkeypatch.setattr(keyformat, "generate", colliding)
    with pytest.raises(IntegrityError):
        source_with(tree, actor, quantity=5, idempotency_key="abc")
    assert not ProductKey.objects.exists()
    assert not KeyEvent.objects.exists()
    assert not SourcingRequest.objects.exists()
    assert not AuditEntry.objects.filter(action="key.source").exists()


def test_an_idempotency_key_sources_once(tree, actor):
    first = source_with(tree, actor, quantity=3, idempotency_key="click-1")
    again = source_with(tree, actor, quantity=3, idempotency_key="click-1")
    assert [k.key for k in again] == [k.key for k in first]
    assert ProductKey.objects.count() == 3
    assert AuditEntry.objects.filter(action="key.source").count() == 1
    other = source_with(tree, actor, quantity=3, idempotency_key="click-2")
    assert ProductKey.objects.count() == 6 and {k.key for k in other}.isdisjoint(k.key for k in first)


def test_the_same_idempotency_key_with_another_request_is_refused(tree, actor):
    source_with(tree, actor, quantity=3, idempotency_key="click-1")
    with pytest.raises(ValidationError) as exc:
        source_with(tree, actor, quantity=4, idempotency_key="click-1")
    assert exc.value.code == "idempotency_key_reused"
    assert ProductKey.objects.count() == 3


def test_idempotency_keys_belong_to_one_msp(tree):
    a1 = source_with(tree, Actor(user=tree.msp_a1_admin), idempotency_key="same")
    a2 = source_with(tree, Actor(user=tree.msp_a2_admin), account=tree.account_a2, idempotency_key="same")
    assert a1[0].key != a2[0].key and a2[0].msp == tree.msp_a2


def test_keys_without_idempotency_key_are_sourced_every_time(tree, actor):
    source_with(tree, actor)
    source_with(tree, actor)
    assert ProductKey.objects.count() == 2


def test_an_api_change_is_an_api_event(tree):
    (key,) = source_with(tree, Actor(user=tree.msp_a1_admin, channel=Channel.API))
    assert key.events.get().cause == "api"


# --- moving a key -----------------------------------------------------------------------------


def test_a_key_moves_within_its_msp(tree, actor):
    other_account = type(tree.account_a1).objects.create(msp=tree.msp_a1, name="Echo Clinic")
    other_site = Site.objects.create(account=other_account, name="Echo North")
    (key,) = source_with(tree, actor, site=tree.site_a1)
    key = actions.move_key(key=key, account=other_account, site=other_site, actor=actor)
    assert (reload(key).account, reload(key).site) == (other_account, other_site)
    entry = AuditEntry.objects.get(action="key.move")
    assert entry.changes == {
        "account": [tree.account_a1.pk, other_account.pk],
        "site": [tree.site_a1.pk, other_site.pk],
    }
    actions.move_key(key=key, account=other_account, site=None, actor=actor)
    assert reload(key).site is None
    # A move to where it already is changes nothing.
    actions.move_key(key=key, account=other_account, site=None, actor=actor)
    assert AuditEntry.objects.filter(action="key.move").count() == 2
    # Each move is a key event (billing follows the key), in the state the key was in.
    assert list(key.events.values_list("transition", "new_state", "account", "site")) == [
        ("source", "unused", tree.account_a1.pk, tree.site_a1.pk),
        ("move", "unused", other_account.pk, other_site.pk),
        ("move", "unused", other_account.pk, None),
    ]


def test_a_key_does_not_move_to_another_msp(tree, actor):
    (key,) = source_with(tree, actor)
    with pytest.raises(ValidationError) as exc:
        actions.move_key(key=key, account=tree.account_a2, site=None, actor=actor)
    assert "account" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        actions.move_key(key=key, account=tree.account_a1, site=tree.site_a2, actor=actor)
    assert "site" in exc.value.message_dict
    assert reload(key).account == tree.account_a1


def test_moving_a_site_moves_its_keys(tree, actor):
    other_account = type(tree.account_a1).objects.create(msp=tree.msp_a1, name="Echo Clinic")
    on_site = source_with(tree, actor, quantity=2, site=tree.site_a1)
    (on_account,) = source_with(tree, actor)
    update_site(
        site=tree.site_a1, name=tree.site_a1.name, account=other_account, address="", notes="", actor=actor
    )
    assert {reload(k).account_id for k in on_site} == {other_account.pk}
    assert {reload(k).site_id for k in on_site} == {tree.site_a1.pk}
    assert reload(on_account).account == tree.account_a1
    # Each key that moved has its move event; the one that stayed has none.
    moves = KeyEvent.objects.filter(transition="move")
    assert sorted(moves.values_list("key_id", "account_id")) == sorted(
        (k.pk, other_account.pk) for k in on_site
    )


# --- Deactivate, Reactivate, withdraw ---------------------------------------------------------


def test_deactivate_is_a_request_final_at_the_next_call_home(tree, actor):
    key = activated(account=tree.account_a1)
    key = actions.request_deactivation(key=key, actor=actor)
    assert key.state == State.DEACTIVATION_REQUESTED
    assert key.status_label == "Deactivation requested \u2013 still active"
    assert key.is_billed_state
    event = key.events.last()
    assert (event.old_state, event.new_state, event.cause, event.actor_user) == (
        "ok",
        "deactivation_requested",
        "user",
        tree.msp_a1_admin,
    )
    assert AuditEntry.objects.filter(action="key.request_deactivation", object_id=str(key.pk)).exists()
    # Asking again changes nothing.
    actions.request_deactivation(key=key, actor=actor)
    assert key.events.count() == 3
    assert call(key).active is False
    assert reload(key).state == State.DEACTIVATED and not reload(key).is_billed_state


def test_a_critical_key_can_be_deactivated(tree, actor):
    key = activated(account=tree.account_a1)
    ProductKey.objects.filter(pk=key.pk).update(state=State.CRITICAL)
    assert actions.request_deactivation(key=key, actor=actor).state == State.DEACTIVATION_REQUESTED


def test_deactivation_is_final_at_once_past_the_offline_lease(tree, actor):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
        late = activated(account=tree.account_a1)
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        assert actions.request_deactivation(key=key, actor=actor).state == State.DEACTIVATION_REQUESTED
    with time_machine.travel(NOW + timedelta(days=30, seconds=1), tick=False):
        late = actions.request_deactivation(key=late, actor=actor)
    assert late.state == State.DEACTIVATED
    assert late.events.last().new_state == "deactivated"
    assert AuditEntry.objects.filter(action="key.deactivate", object_id=str(late.pk)).exists()


def test_deactivate_again_past_the_offline_lease_is_final_at_once(tree, actor):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        actions.request_deactivation(key=key, actor=actor)
    with time_machine.travel(NOW + timedelta(days=29), tick=False):
        # Still within the lease: the request waits for the next call home, no new event.
        count = key.events.count()
        assert actions.request_deactivation(key=key, actor=actor).state == State.DEACTIVATION_REQUESTED
        assert key.events.count() == count
    with time_machine.travel(NOW + timedelta(days=30, seconds=1), tick=False):
        # Past it and before the sweeper: the product no longer runs licensed.
        key = actions.request_deactivation(key=key, actor=actor)
    assert key.state == State.DEACTIVATED
    event = key.events.last()
    assert (event.old_state, event.new_state, event.cause) == (
        "deactivation_requested",
        "deactivated",
        "user",
    )
    assert replayed_state(key) == State.DEACTIVATED


def test_the_offline_lease_comes_from_the_settings(tree, actor, settings):
    settings.KEYLEDGER_OFFLINE_LEASE_DAYS = 2
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        assert actions.request_deactivation(key=key, actor=actor).state == State.DEACTIVATED


@pytest.mark.parametrize("state", [State.UNUSED, State.DEACTIVATED])
def test_only_an_active_key_can_be_deactivated(tree, actor, state):
    key = activated(account=tree.account_a1) if state != State.UNUSED else source_with(tree, actor)[0]
    ProductKey.objects.filter(pk=key.pk).update(state=state)
    with pytest.raises(ValidationError):
        actions.request_deactivation(key=key, actor=actor)
    assert reload(key).state == state


@pytest.mark.parametrize("code", ["imagemanager", "gre"])
def test_products_that_cannot_be_deactivated(tree, actor, code):
    key = activated(account=tree.account_a1, code=code)
    for request in (actions.request_deactivation, actions.request_reactivation):
        with pytest.raises(ValidationError, match="cannot be deactivated or reactivated"):
            request(key=key, actor=actor)
    assert reload(key).state == State.OK


def test_reactivate_is_a_request_final_at_the_next_call_home(tree, actor):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=actor)
    call(key)
    key = actions.request_reactivation(key=key, actor=actor)
    assert key.state == State.REACTIVATION_REQUESTED and key.status_label == "Reactivation requested"
    assert not key.is_billed_state
    actions.request_reactivation(key=key, actor=actor)
    assert call(key).active is True
    assert reload(key).state == State.OK
    assert replayed_state(key) == State.OK


def test_reactivate_on_a_pending_deactivation_withdraws_it(tree, actor):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=actor)
    key = actions.request_reactivation(key=key, actor=actor)
    assert key.state == State.OK
    assert key.critical_due_at == key.last_call_home_at + timedelta(hours=72)
    assert key.events.last().old_state == "deactivation_requested"
    assert AuditEntry.objects.filter(action="key.withdraw_request").count() == 1


def test_a_withdrawn_deactivation_of_a_silent_key_is_critical(tree, actor):
    with time_machine.travel(NOW, tick=False):
        key = activated(account=tree.account_a1)
        actions.request_deactivation(key=key, actor=actor)
    with time_machine.travel(NOW + timedelta(hours=73), tick=False):
        key = actions.withdraw_request(key=key, actor=actor)
    assert key.state == State.CRITICAL and key.critical_due_at is None


def test_deactivate_on_a_pending_reactivation_withdraws_it(tree, actor):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=actor)
    call(key)
    actions.request_reactivation(key=key, actor=actor)
    assert actions.request_deactivation(key=key, actor=actor).state == State.DEACTIVATED


def test_withdraw_a_pending_reactivation(tree, actor):
    key = activated(account=tree.account_a1)
    actions.request_deactivation(key=key, actor=actor)
    call(key)
    actions.request_reactivation(key=key, actor=actor)
    assert actions.withdraw_request(key=key, actor=actor).state == State.DEACTIVATED
    assert replayed_state(key) == State.DEACTIVATED


@pytest.mark.parametrize("state", [State.UNUSED, State.OK, State.CRITICAL, State.DEACTIVATED])
def test_nothing_to_withdraw(tree, actor, state):
    key = activated(account=tree.account_a1)
    if state == State.UNUSED:
        key = source_with(tree, actor)[0]
    ProductKey.objects.filter(pk=key.pk).update(state=state)
    with pytest.raises(ValidationError, match="no pending request"):
        actions.withdraw_request(key=key, actor=actor)


def test_actions_read_the_key_as_it_is_now(tree, actor):
    key = activated(account=tree.account_a1)
    stale = reload(key)
    actions.request_deactivation(key=key, actor=actor)
    call(key)  # final: deactivated
    # The caller's copy still says OK; the action sees Deactivated and reactivates.
    assert actions.request_reactivation(key=stale, actor=actor).state == State.REACTIVATION_REQUESTED


def test_cannot_reactivate_an_active_key(tree, actor):
    key = activated(account=tree.account_a1)
    with pytest.raises(ValidationError, match="cannot be reactivated"):
        actions.request_reactivation(key=key, actor=actor)
