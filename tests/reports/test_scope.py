"""Whose keys a report covers and on which prices: the viewer's choice, through the door."""

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from keyledger.reports.scope import ReportScope, basis_choices, distributor_choices, msp_choices, resolve


def test_each_kind_of_viewer_has_its_price_bases_default_first(tree):
    assert [code for code, _ in basis_choices(tree.vendor)] == ["sale", "msp"]
    assert [code for code, _ in basis_choices(tree.dist_a)] == ["msp", "own"]
    assert [code for code, _ in basis_choices(tree.msp_a1)] == ["msp"]


def test_a_distributor_picks_one_of_its_msps_or_all(tree):
    user = tree.dist_a_member
    assert resolve(user) == ReportScope(viewer=tree.dist_a, basis="msp")
    scope = resolve(user, msp=str(tree.msp_a2.pk), prices="own")
    assert (scope.msp, scope.distributor, scope.basis, scope.root) == (tree.msp_a2, None, "own", tree.msp_a2)
    assert scope.query() == {"msp": tree.msp_a2.pk, "prices": "own"}
    assert [m.name for m in msp_choices(user, scope)] == ["Acme IT", "Bluebird Managed", "Cobalt Services"]
    assert distributor_choices(user) == []


@pytest.mark.parametrize("msp", ["msp_b1", "dist_a"])
def test_an_msp_outside_the_subtree_or_not_an_msp_is_not_found(tree, msp):
    with pytest.raises(Http404):
        resolve(tree.dist_a_admin, msp=getattr(tree, msp).pk)


@pytest.mark.parametrize("value", ["abc", "-1", "1e3", "٣", "9" * 30])
def test_a_malformed_id_is_not_found(tree, value):
    with pytest.raises(Http404):
        resolve(tree.dist_a_admin, msp=value)


def test_vendor_staff_pick_a_distributor_then_one_of_its_msps(tree):
    user = tree.vendor_admin
    assert resolve(user).basis == "sale"
    assert [d.name for d in distributor_choices(user)] == ["Northwind Distribution", "Southgate Supply"]
    assert msp_choices(user, resolve(user)) == []  # choose a distributor first
    scope = resolve(user, distributor=tree.dist_b.pk)
    assert scope.root == tree.dist_b and [m.name for m in msp_choices(user, scope)] == ["Dingo Networks"]
    # An MSP alone brings its distributor; an MSP outside the chosen distributor gives way to it.
    assert resolve(user, msp=tree.msp_a1.pk).distributor == tree.dist_a
    scope = resolve(user, distributor=tree.dist_b.pk, msp=tree.msp_a1.pk)
    assert (scope.distributor, scope.msp) == (tree.dist_b, None)
    assert resolve(user, distributor=tree.dist_a.pk, msp=tree.msp_a1.pk, prices="msp").query() == {
        "distributor": tree.dist_a.pk,
        "msp": tree.msp_a1.pk,
        "prices": "msp",
    }


def test_an_msp_sees_its_own_and_nothing_else(tree):
    user = tree.msp_a1_member
    assert resolve(user) == ReportScope(viewer=tree.msp_a1, basis="msp")
    assert resolve(user, msp=tree.msp_a1.pk).root == tree.msp_a1
    with pytest.raises(Http404):
        resolve(user, msp=tree.msp_a2.pk)
    with pytest.raises(Http404):
        resolve(user, distributor=tree.dist_a.pk)
    assert msp_choices(user, resolve(user)) == []


@pytest.mark.parametrize(
    ("user", "prices"),
    [("msp_a1_admin", "own"), ("dist_a_admin", "sale"), ("vendor_admin", "own"), ("dist_a_admin", "x")],
)
def test_a_price_basis_the_viewer_cannot_choose_is_a_field_error(tree, user, prices):
    with pytest.raises(ValidationError) as caught:
        resolve(getattr(tree, user), prices=prices)
    assert "prices" in caught.value.message_dict


def test_a_distributor_may_not_pick_a_sibling_distributor(tree):
    with pytest.raises(Http404):
        resolve(tree.dist_a_admin, distributor=tree.dist_b.pk)
