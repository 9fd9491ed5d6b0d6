"""The Security page (who must use two-factor authentication) and an admin's reset of a
user's second factor; and the whole walk: a distributor requires it of its MSPs, an MSP's
user sets it up at the next sign-in and signs in with it."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.testing.tree import PASSWORD
from keyledger.twofactor.devices import has_two_factor
from keyledger.twofactor.models import TwoFactorRequirement
from keyledger.twofactor.policy import required_for
from tests.twofactor.helpers import code_for, enrol

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    cache.clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
    cache.clear()


def security(org) -> str:
    return reverse("portal:organisation_security", kwargs={"organisation_id": org.pk})


def test_vendor_staff_require_it_of_every_distributor(tree, client_for):
    client = client_for(tree.vendor_admin)
    page = client.get(security(tree.vendor))
    assert "Users of every distributor" in page.text
    response = client.post(
        security(tree.vendor), {"scope": "distributors", "applies_from": "2027-01-01"}, follow=True
    )
    assert "Two-factor authentication is required from 1 January 2027." in response.text
    assert required_for(tree.dist_b_admin).by == tree.vendor
    assert required_for(tree.msp_a1_admin) is None
    assert AuditEntry.objects.filter(action="two_factor.requirement_set", organisation=tree.vendor).exists()


def test_a_distributor_requires_it_of_its_msps_users_who_see_the_notice(tree, client_for):
    client = client_for(tree.dist_a_admin)
    assert "Users of Northwind Distribution&#x27;s MSPs" in client.get(security(tree.dist_a)).text
    client.post(security(tree.dist_a), {"scope": "msps", "applies_from": "2027-01-01"})
    assert required_for(tree.msp_a1_member).by == tree.dist_a
    page = client_for(tree.msp_a1_member).get(reverse("portal:profile"))
    assert "Northwind Distribution requires two-factor authentication from 1 January 2027." in page.text
    # The MSP's own Security page says who requires it of its users.
    msp_page = client_for(tree.msp_a1_admin).get(security(tree.msp_a1)).text
    assert "Northwind Distribution requires it of Acme IT's users from 1 January 2027." in msp_page


def test_an_organisation_admin_requires_it_of_its_own_users_only(tree, client_for):
    client = client_for(tree.msp_a1_admin)
    page = client.get(security(tree.msp_a1)).text
    assert "Users of Acme IT" in page and "MSPs" not in page
    # An MSP serves no MSPs: the form refuses the scope and nothing is written.
    page = client.post(security(tree.msp_a1), {"scope": "msps", "applies_from": "2026-12-05"})
    assert "Acme IT cannot require this; nothing was changed." in page.text
    assert not TwoFactorRequirement.objects.exists()
    response = client.post(security(tree.msp_a1), {"scope": "own", "applies_from": "2026-12-05"})
    assert required_for(tree.msp_a1_member).in_force
    assert required_for(tree.msp_a2_admin) is None
    # In force today, for the admin too: the next page is setting it up.
    assert client.get(response["Location"])["Location"] == reverse("portal:two_factor_setup")


def test_a_day_in_the_past_is_refused(tree, client_for):
    page = client_for(tree.dist_a_admin).post(
        security(tree.dist_a), {"scope": "own", "applies_from": "2026-12-04"}
    )
    assert "Choose today or a later day." in page.text
    assert not TwoFactorRequirement.objects.exists()


def test_removing_a_requirement(tree, client_for):
    client = client_for(tree.dist_a_admin)
    client.post(security(tree.dist_a), {"scope": "msps", "applies_from": "2027-01-01"})
    response = client.post(security(tree.dist_a), {"scope": "msps", "remove": "1"}, follow=True)
    assert "The requirement is removed." in response.text
    assert not TwoFactorRequirement.objects.exists()


def test_the_users_page_links_to_security_and_says_who_has_it_on(tree, client_for):
    enrol(tree.msp_a1_member)
    page = client_for(tree.dist_a_admin).get(reverse("portal:users")).text
    assert f'href="{security(tree.dist_a)}"' in page
    rows = {row.split("</td>")[0]: row for row in page.split("<tr>")[1:]}
    member = next(r for k, r in rows.items() if tree.msp_a1_member.email in k)
    admin = next(r for k, r in rows.items() if f">{tree.msp_a1_admin.email}<" in k)
    assert '<span class="badge ok">On</span>' in member and '<span class="badge off">Off</span>' in admin


def test_members_cannot_set_requirements(tree, client_for):
    client = client_for(tree.dist_a_member)
    assert client.get(security(tree.dist_a)).status_code == 403
    assert (
        client.post(security(tree.dist_a), {"scope": "own", "applies_from": "2027-01-01"}).status_code == 403
    )
    assert not TwoFactorRequirement.objects.exists()


def test_an_admin_above_resets_a_users_second_factor(tree, client_for):
    key, _ = enrol(tree.msp_a1_member)
    their_session = Client()
    their_session.post(reverse("portal:login"), {"username": tree.msp_a1_member.email, "password": PASSWORD})
    their_session.post(reverse("portal:two_factor_sign_in"), {"code": code_for(key, steps_ahead=1)})
    assert SESSION_KEY in their_session.session
    client = client_for(tree.dist_a_admin)
    user_page = reverse("portal:user", kwargs={"user_id": tree.msp_a1_member.pk})
    assert "Reset two-factor authentication" in client.get(user_page).text
    response = client.post(
        reverse("portal:reset_two_factor", kwargs={"user_id": tree.msp_a1_member.pk}), follow=True
    )
    assert f"Two-factor authentication of {tree.msp_a1_member.email} is reset" in response.text
    assert not has_two_factor(tree.msp_a1_member)
    entry = AuditEntry.objects.get(action="two_factor.reset")
    assert entry.actor_user == tree.dist_a_admin and entry.changes == {"sessions_ended": 1}
    # The session on the lost phone is signed out.
    assert their_session.get(reverse("portal:profile"))["Location"].startswith(reverse("portal:login"))


def test_an_outsider_cannot_reset(tree, client_for):
    enrol(tree.msp_a1_member)
    url = reverse("portal:reset_two_factor", kwargs={"user_id": tree.msp_a1_member.pk})
    for outsider in (tree.dist_b_admin, tree.msp_a2_admin):
        assert client_for(outsider).post(url).status_code == 404
    assert has_two_factor(tree.msp_a1_member)
    assert not AuditEntry.objects.filter(action="two_factor.reset").exists()


def test_done_when_a_distributor_requires_it_and_an_msp_user_enrols_and_signs_in_with_it(tree, client, clock):
    # Northwind requires it of its MSPs from 1 January.
    client.force_login(tree.dist_a_admin)
    client.post(security(tree.dist_a), {"scope": "msps", "applies_from": "2027-01-01"})
    client.post(reverse("portal:logout"))
    clock.move_to(datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    # Acme's user signs in with the password and is sent to set it up, and nowhere else.
    user = tree.msp_a1_member
    response = client.post(reverse("portal:login"), {"username": user.email, "password": PASSWORD})
    assert client.get(response["Location"])["Location"] == reverse("portal:two_factor_setup")
    assert client.get(reverse("portal:profile"))["Location"] == reverse("portal:two_factor_setup")
    client.get(reverse("portal:two_factor_setup"))
    key = client.session["two_factor_setup_key"]
    response = client.post(reverse("portal:two_factor_setup"), {"code": code_for(key)})
    assert client.get(response["Location"]).text.count("<li><code>") == 10
    assert client.get(reverse("portal:profile")).status_code == 200
    client.post(reverse("portal:logout"))
    # Next time: password, then a code.
    clock.shift(60)
    response = client.post(reverse("portal:login"), {"username": user.email, "password": PASSWORD})
    assert response["Location"] == reverse("portal:two_factor_sign_in")
    response = client.post(response["Location"], {"code": code_for(key)})
    assert response["Location"] == reverse("portal:home") and SESSION_KEY in client.session
    assert client.get(reverse("portal:profile")).status_code == 200


def test_who_set_a_requirement_from_above_is_named_by_organisation(tree, client_for):
    url = security(tree.msp_a1)
    client_for(tree.dist_a_admin).post(url, {"scope": "own", "applies_from": "2027-01-01"})
    assert f"(set by {tree.dist_a_admin.email})" in client_for(tree.dist_a_admin).get(url).text
    page = client_for(tree.msp_a1_admin).get(url).text
    assert "(set by Northwind Distribution)" in page and tree.dist_a_admin.email not in page
