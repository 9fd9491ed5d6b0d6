"""Setting up, using, turning off and resetting a second factor; setting a requirement."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.testing.tree import PASSWORD
from keyledger.twofactor import actions
from keyledger.twofactor.devices import has_two_factor, recovery_codes_left
from keyledger.twofactor.models import Scope, TwoFactorRequirement
from tests.twofactor.helpers import code_for, enrol, require

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def used(user, code: str) -> str | None:
    return actions.verify_sign_in(user=user, code=code, actor=Actor(user=user)).used


def actions_of(user) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="organisations.User", object_id=str(user.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_enrolling_confirms_the_app_and_makes_ten_single_use_codes(tree, clock):
    user = tree.msp_a1_admin
    _, codes = enrol(user)
    assert has_two_factor(user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert recovery_codes_left(user) == 10
    assert actions_of(user) == ["two_factor.enrol"]


def test_a_wrong_code_enrols_nothing(tree, clock):
    user = tree.msp_a1_admin
    key = actions.new_secret()
    wrong = f"{(int(code_for(key)) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationError) as refused:
        actions.enrol(user=user, key=key, code=wrong, actor=Actor(user=user))
    assert "code" in refused.value.message_dict
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticToken.objects.exists()
    assert actions_of(user) == []


def test_enrolling_twice_is_refused(tree, clock):
    user = tree.msp_a1_admin
    enrol(user)
    key = actions.new_secret()
    with pytest.raises(ValidationError, match="already on"):
        actions.enrol(user=user, key=key, code=code_for(key), actor=Actor(user=user))


def test_a_code_signs_in_once_only(tree, clock):
    user = tree.msp_a1_admin
    key, _ = enrol(user)
    clock.shift(30)
    code = code_for(key)
    assert used(user, code) == "authenticator"
    # The same code again (someone looking over a shoulder) is spent.
    assert used(user, code) is None
    clock.shift(30)
    assert used(user, code_for(key)) == "authenticator"


def test_spaces_in_a_code_do_not_matter(tree, clock):
    user = tree.msp_a1_admin
    key, _ = enrol(user)
    clock.shift(30)
    code = code_for(key)
    assert used(user, f" {code[:3]} {code[3:]} ") == "authenticator"


def test_a_recovery_code_works_once_and_is_audited(tree, clock):
    user = tree.msp_a1_admin
    _, codes = enrol(user)
    assert used(user, codes[3].upper()) == "recovery code"
    assert used(user, codes[3]) is None
    assert recovery_codes_left(user) == 9
    assert actions_of(user) == ["two_factor.enrol", "two_factor.recovery_code_used", "user.sign_in_failed"]
    wrong = AuditEntry.objects.get(action="user.sign_in_failed")
    assert wrong.changes == {"reason": "wrong two-factor code"}
    spent = AuditEntry.objects.get(action="two_factor.recovery_code_used")
    assert spent.changes == {"recovery_codes_left": 9}


def test_another_users_recovery_code_does_not_work(tree, clock):
    _, codes = enrol(tree.msp_a1_admin)
    enrol(tree.msp_a2_admin)
    assert used(tree.msp_a2_admin, codes[0]) is None
    assert recovery_codes_left(tree.msp_a1_admin) == 10


def test_turning_off_takes_the_password_and_a_code(tree, clock):
    user = tree.msp_a1_admin
    _, codes = enrol(user)
    with pytest.raises(ValidationError) as refused:
        actions.disable(user=user, password="wrong", code=codes[0], actor=Actor(user=user))
    assert "password" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        actions.disable(user=user, password=PASSWORD, code="000000", actor=Actor(user=user))
    assert "code" in refused.value.message_dict
    assert has_two_factor(user)
    actions.disable(user=user, password=PASSWORD, code=codes[0], actor=Actor(user=user))
    assert not has_two_factor(user) and recovery_codes_left(user) == 0
    assert actions_of(user)[-1] == "two_factor.disable"


@pytest.mark.parametrize("day", [date(2026, 12, 1), date(2027, 1, 1)], ids=["in force", "announced"])
def test_turning_off_is_refused_where_it_is_required(tree, clock, day):
    user = tree.msp_a1_admin
    _, codes = enrol(user)
    require(tree.dist_a, Scope.MSPS, on=day)
    with pytest.raises(ValidationError, match="Northwind Distribution requires two-factor authentication"):
        actions.disable(user=user, password=PASSWORD, code=codes[0], actor=Actor(user=user))
    assert has_two_factor(user) and recovery_codes_left(user) == 10


def test_new_recovery_codes_replace_the_old(tree, clock):
    user = tree.msp_a1_admin
    key, old = enrol(user)
    clock.shift(30)
    new = actions.regenerate_recovery_codes(user=user, code=code_for(key), actor=Actor(user=user))
    assert set(new).isdisjoint(old) and recovery_codes_left(user) == 10
    assert used(user, old[0]) is None
    assert used(user, new[0]) == "recovery code"
    assert "two_factor.recovery_codes_regenerated" in actions_of(user)


def test_an_admin_resets_a_users_second_factor(tree, clock):
    enrol(tree.msp_a1_member)
    actions.reset(user=tree.msp_a1_member, actor=Actor(user=tree.dist_a_admin))
    assert not has_two_factor(tree.msp_a1_member) and recovery_codes_left(tree.msp_a1_member) == 0
    entry = AuditEntry.objects.get(action="two_factor.reset")
    assert entry.actor_user == tree.dist_a_admin and entry.organisation == tree.msp_a1


def test_nobody_resets_their_own_and_nothing_is_reset_twice(tree, clock):
    enrol(tree.msp_a1_admin)
    with pytest.raises(ValidationError, match="use your profile"):
        actions.reset(user=tree.msp_a1_admin, actor=Actor(user=tree.msp_a1_admin))
    with pytest.raises(ValidationError, match="no two-factor authentication to reset"):
        actions.reset(user=tree.msp_a1_member, actor=Actor(user=tree.msp_a1_admin))
    assert not AuditEntry.objects.filter(action="two_factor.reset").exists()


def test_setting_changing_and_removing_a_requirement_is_audited(tree, clock):
    actor = Actor(user=tree.dist_a_admin)
    actions.set_requirement(
        organisation=tree.dist_a, scope=Scope.MSPS, applies_from=date(2027, 1, 1), actor=actor
    )
    actions.set_requirement(
        organisation=tree.dist_a, scope=Scope.MSPS, applies_from=date(2027, 2, 1), actor=actor
    )
    rule = TwoFactorRequirement.objects.get()
    assert (rule.organisation, rule.scope, rule.applies_from, rule.set_by) == (
        tree.dist_a,
        Scope.MSPS,
        date(2027, 2, 1),
        tree.dist_a_admin,
    )
    actions.remove_requirement(organisation=tree.dist_a, scope=Scope.MSPS, actor=actor)
    assert not TwoFactorRequirement.objects.exists()
    changes = list(
        AuditEntry.objects.filter(action__startswith="two_factor.requirement")
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert changes == [
        {"scope": "msps", "applies_from": [None, "2027-01-01"]},
        {"scope": "msps", "applies_from": ["2027-01-01", "2027-02-01"]},
        {"scope": "msps", "applies_from": ["2027-02-01", None]},
    ]


def test_a_requirement_cannot_start_in_the_past_nor_reach_what_the_organisation_does_not_serve(tree, clock):
    actor = Actor(user=tree.msp_a1_admin)
    with pytest.raises(ValidationError) as refused:
        actions.set_requirement(
            organisation=tree.msp_a1, scope=Scope.OWN, applies_from=date(2026, 12, 4), actor=actor
        )
    assert "applies_from" in refused.value.message_dict
    with pytest.raises(ValidationError, match="cannot require this"):
        actions.set_requirement(
            organisation=tree.msp_a1, scope=Scope.MSPS, applies_from=NOW.date(), actor=actor
        )
    assert not TwoFactorRequirement.objects.exists()
