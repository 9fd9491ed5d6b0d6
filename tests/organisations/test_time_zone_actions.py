"""A user's time zone: chosen on the profile, or taken from the browser at the first sign-in."""

import pytest
from django.core.exceptions import ValidationError

from keyledger.audit.models import AuditEntry
from keyledger.organisations import actions
from keyledger.organisations.actions.users import adopt_browser_time_zone, set_time_zone
from keyledger.organisations.models import User
from tests.organisations.helpers import IP, actor_for

pytestmark = pytest.mark.django_db


def test_set_time_zone_saves_it_and_audits_the_change(tree):
    user = tree.msp_a1_member
    set_time_zone(user=user, time_zone="Europe/Berlin", actor=actor_for(user))
    assert User.objects.get(pk=user.pk).time_zone == "Europe/Berlin"
    row = AuditEntry.objects.get(action="user.set_time_zone")
    assert row.changes == {"time_zone": ["", "Europe/Berlin"]}
    assert row.actor_user == user and row.ip_address == IP and row.organisation == tree.msp_a1


def test_back_to_none_chosen_and_no_row_when_nothing_changes(tree):
    user = tree.msp_a1_member
    set_time_zone(user=user, time_zone="Asia/Tokyo", actor=actor_for(user))
    set_time_zone(user=user, time_zone="Asia/Tokyo", actor=actor_for(user))
    set_time_zone(user=user, time_zone="", actor=actor_for(user))
    assert User.objects.get(pk=user.pk).time_zone == ""
    assert AuditEntry.objects.filter(action="user.set_time_zone").count() == 2


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "europe/berlin", "../../etc/passwd", "Europe/Berlin "])
def test_only_zones_of_the_tz_database(tree, zone):
    user = tree.msp_a1_member
    with pytest.raises(ValidationError):
        set_time_zone(user=user, time_zone=zone, actor=actor_for(user))
    assert User.objects.get(pk=user.pk).time_zone == ""


def test_the_browser_zone_is_taken_only_when_none_is_chosen_and_only_a_real_one(tree):
    user = tree.msp_a1_member
    adopt_browser_time_zone(user=user, time_zone="not a zone", actor=actor_for(user))
    assert User.objects.get(pk=user.pk).time_zone == ""
    adopt_browser_time_zone(user=user, time_zone="America/New_York", actor=actor_for(user))
    assert User.objects.get(pk=user.pk).time_zone == "America/New_York"
    adopt_browser_time_zone(user=user, time_zone="Europe/Berlin", actor=actor_for(user))
    assert User.objects.get(pk=user.pk).time_zone == "America/New_York"


def test_the_actions_are_exported_with_the_others():
    assert actions.set_time_zone is set_time_zone
