"""Who a requirement reaches: the organisation's own users, or those of the distributors or
MSPs below it; in force from its day on, announced before."""

from datetime import UTC, date, datetime

import pytest

from keyledger.organisations.models import Organisation
from keyledger.testing.tree import make_org, make_user
from keyledger.twofactor.models import Scope
from keyledger.twofactor.policy import required_for, scopes_settable_by
from tests.twofactor.helpers import require

pytestmark = pytest.mark.django_db

DAY = date(2027, 1, 1)
BEFORE = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
ON = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


def test_nothing_required_by_default(tree):
    assert all(required_for(user) is None for user in tree.users())


def test_the_vendor_requires_it_of_every_distributor_only(tree):
    require(tree.vendor, Scope.DISTRIBUTORS, on=DAY)
    for user in (tree.dist_a_admin, tree.dist_a_readonly, tree.dist_b_admin):
        requirement = required_for(user, at=ON)
        assert requirement.by == tree.vendor and requirement.in_force
    assert required_for(tree.vendor_admin, at=ON) is None
    assert required_for(tree.msp_a1_admin, at=ON) is None


def test_a_distributor_requires_it_of_its_msps_not_of_a_siblings(tree):
    require(tree.dist_a, Scope.MSPS, on=DAY)
    for user in (tree.msp_a1_admin, tree.msp_a1_member, tree.msp_a2_admin):
        assert required_for(user, at=ON).by == tree.dist_a
    assert required_for(tree.msp_b1_admin, at=ON) is None
    assert required_for(tree.dist_a_admin, at=ON) is None


def test_a_distributor_reaches_the_msps_of_its_sub_distributors(tree):
    sub = make_org(parent=tree.dist_a, kind=Organisation.Kind.DISTRIBUTOR, name="Sub", portal_access="active")
    msp = make_org(parent=sub, kind=Organisation.Kind.MSP, name="Deep MSP", portal_access="active")
    user = make_user(msp, "deep@example.test")
    require(tree.dist_a, Scope.MSPS, on=DAY)
    assert required_for(user, at=ON).by == tree.dist_a


def test_an_organisation_requires_it_of_its_own_users(tree):
    require(tree.msp_a1, on=DAY)
    assert required_for(tree.msp_a1_member, at=ON).by == tree.msp_a1
    assert required_for(tree.msp_a2_admin, at=ON) is None
    assert required_for(tree.dist_a_admin, at=ON) is None


def test_before_its_day_it_is_announced_not_in_force(tree):
    require(tree.dist_a, Scope.MSPS, on=DAY)
    before = required_for(tree.msp_a1_admin, at=BEFORE)
    assert before.applies_from == DAY and not before.in_force
    assert required_for(tree.msp_a1_admin, at=ON).in_force


def test_of_several_the_soonest_day_is_shown(tree):
    require(tree.dist_a, Scope.MSPS, on=date(2027, 3, 1))
    require(tree.msp_a1, on=date(2027, 2, 1))
    assert required_for(tree.msp_a1_admin, at=ON).by == tree.msp_a1
    assert required_for(tree.msp_a2_admin, at=ON).by == tree.dist_a


def test_what_each_kind_may_require(tree):
    assert scopes_settable_by(tree.vendor) == [Scope.OWN, Scope.DISTRIBUTORS]
    assert scopes_settable_by(tree.dist_a) == [Scope.OWN, Scope.MSPS]
    assert scopes_settable_by(tree.msp_a1) == [Scope.OWN]
