"""Before a requirement's day its users see a notice; from it on, a user without a second
factor can only set it up (or sign out, or accept the Terms)."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyledger.organisations.models import TermsVersion
from keyledger.twofactor.middleware import VERIFIED_SESSION_KEY
from keyledger.twofactor.models import Scope
from tests.twofactor.helpers import enrol, require

pytestmark = pytest.mark.django_db

DAY = date(2027, 1, 1)
BEFORE = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
AFTER = datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
SET_UP = reverse("portal:two_factor_setup")


def test_before_the_day_the_notice_names_who_requires_it_and_when(tree, client_for):
    require(tree.dist_a, Scope.MSPS, on=DAY)
    with time_machine.travel(BEFORE, tick=False):
        page = client_for(tree.msp_a1_member).get(reverse("portal:profile"))
    assert page.status_code == 200
    assert "Northwind Distribution requires two-factor authentication from 1 January 2027." in page.text


def test_the_notice_is_not_shown_to_those_it_does_not_reach_or_who_have_it(tree, client):
    require(tree.dist_a, Scope.MSPS, on=DAY)
    with time_machine.travel(BEFORE, tick=False):
        enrol(tree.msp_a2_admin)
        for user in (tree.dist_a_admin, tree.msp_b1_admin, tree.msp_a2_admin):
            client.force_login(user)
            assert "two-factor-notice" not in client.get(reverse("portal:profile")).text


def test_from_the_day_a_user_without_it_can_only_set_it_up(tree, client_for):
    require(tree.dist_a, Scope.MSPS, on=DAY)
    with time_machine.travel(AFTER, tick=False):
        client = client_for(tree.msp_a1_member)
        for name in ("portal:home", "portal:profile", "portal:users"):
            response = client.get(reverse(name))
            assert (response.status_code, response["Location"]) == (302, SET_UP), name
        key_page = reverse("portal:msp_key_management", kwargs={"msp_id": tree.msp_a1.pk})
        assert client.get(key_page)["Location"] == SET_UP
        page = client.get(SET_UP)
        assert page.status_code == 200
        assert "Northwind Distribution requires two-factor authentication" in page.text
        assert client.post(reverse("portal:logout")).status_code == 302


def test_from_the_day_a_user_with_it_goes_on_as_before(tree, client_for):
    require(tree.msp_a1, on=DAY)
    with time_machine.travel(AFTER, tick=False):
        enrol(tree.msp_a1_member)
        response = client_for(tree.msp_a1_member).get(reverse("portal:profile"))
    assert response.status_code == 200


def test_a_session_that_passed_the_second_step_is_not_checked_again(tree, client_for):
    client = client_for(tree.msp_a1_admin)
    session = client.session
    session[VERIFIED_SESSION_KEY] = True
    session.save()
    client.get(reverse("portal:profile"))  # the first request lists the session
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("portal:terms"))
    assert queries.captured_queries
    assert not any("twofactor" in q["sql"] or "otp_" in q["sql"] for q in queries.captured_queries)


def test_the_django_admin_sign_in_leads_to_the_portals(client):
    response = client.get(reverse("admin:login") + "?next=/admin/keys/")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:login") + "?next=%2Fadmin%2Fkeys%2F"


def test_new_terms_come_first_then_setting_it_up_without_a_loop(tree, client_for):
    TermsVersion.objects.create(version=2, text="New terms.")
    require(tree.msp_a1, on=DAY)
    with time_machine.travel(AFTER, tick=False):
        client = client_for(tree.msp_a1_member)
        to_terms = client.get(reverse("portal:home"))
        assert to_terms["Location"].startswith(reverse("portal:accept_terms"))
        assert client.get(to_terms["Location"]).status_code == 200
        assert client.get(SET_UP)["Location"].startswith(reverse("portal:accept_terms"))
