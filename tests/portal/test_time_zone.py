"""Times in the reader's time zone on pages, UTC in the tooltip; UTC in CSV files and the API
whoever reads them. The zone is chosen on the profile, or taken from the browser at sign-in."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from keyledger.api.models import ApiToken
from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.organisations.actions.users import invite_user
from keyledger.organisations.models import User
from keyledger.organisations.roles import Role
from keyledger.portal.forms.api_tokens import NewTokenForm
from keyledger.testing.tree import PASSWORD
from keyledger.twofactor.policy import required_for
from tests.api.conftest import make_token
from tests.reports.conftest import NOW, build_world
from tests.twofactor.helpers import require

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    with time_machine.travel(NOW, tick=False):
        yield build_world(tree)


@pytest.fixture
def berliner(tree) -> User:
    user = tree.dist_a_admin
    User.objects.filter(pk=user.pk).update(time_zone="Europe/Berlin")
    user.refresh_from_db()
    return user


def test_a_page_shows_local_time_with_utc_in_the_tooltip(world, berliner, client):
    client.force_login(berliner)
    page = client.get(reverse("portal:reports_activation"), {"start": "2026-11-01", "end": "2026-11-30"})
    html = page.content.decode()
    # The key activated on 18 November at midnight UTC: one in the morning in Berlin.
    assert (
        '<time datetime="2026-11-18T00:00:00Z" title="2026-11-18 00:00 UTC">2026-11-18 01:00 CET</time>'
        in html
    )


def test_the_shared_time_include_too(world, berliner, client):
    client.force_login(berliner)
    html = client.get(reverse("portal:key_detail", args=[world.short.pk])).content.decode()
    assert re.search(
        r'<time datetime="2026-11-18T00:00:00Z" title="2026-11-18 00:00 UTC">2026-11-18 01:00 CET</time>',
        html,
    )


def test_without_a_zone_pages_show_utc(world, tree, client):
    client.force_login(tree.dist_a_admin)
    page = client.get(reverse("portal:reports_activation"), {"start": "2026-11-01", "end": "2026-11-30"})
    assert "2026-11-18 00:00 UTC</time>" in page.content.decode()


def test_csv_files_stay_utc(world, berliner, client):
    client.force_login(berliner)
    response = client.get(
        reverse("portal:reports_activation_csv"), {"start": "2026-11-01", "end": "2026-11-30"}
    )
    data = b"".join(response.streaming_content).decode()
    row = next(line for line in data.splitlines() if line.startswith(world.short.key))
    assert "2026-11-18T00:00:00Z" in row
    assert "01:00" not in row


def test_the_api_stays_utc_even_beside_a_signed_in_session(world, berliner):
    client = Client()
    client.force_login(berliner)
    _, secret = make_token(berliner.organisation, user=berliner)
    response = client.get(f"/api/v1/keys/{world.short.pk}", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.content
    activated = response.json()["activated_at"]
    assert activated.startswith("2026-11-18T00:00:00") and activated.endswith(("Z", "+00:00"))


def test_choose_a_time_zone_on_the_profile(tree, client):
    user = tree.msp_a1_member
    client.force_login(user)
    page = client.get(reverse("portal:profile")).content.decode()
    assert (
        '<select name="time_zone"' in page and '<option value="Europe/Berlin">Europe/Berlin</option>' in page
    )
    response = client.post(
        reverse("portal:change_time_zone"), {"time_zone": "America/Argentina/Buenos_Aires"}
    )
    assert response.status_code == 302 and response["Location"].endswith("#time-zone")
    assert User.objects.get(pk=user.pk).time_zone == "America/Argentina/Buenos_Aires"
    assert AuditEntry.objects.filter(action="user.set_time_zone", actor_user=user).count() == 1
    page = client.get(reverse("portal:profile")).content.decode()
    assert '<option value="America/Argentina/Buenos_Aires" selected>' in page


def test_an_unknown_zone_is_refused_next_to_the_field(tree, client):
    user = tree.msp_a1_member
    client.force_login(user)
    response = client.post(reverse("portal:change_time_zone"), {"time_zone": "Atlantis/Capital"})
    assert response.status_code == 400
    assert 'id="id_time_zone_error"' in response.content.decode()
    assert User.objects.get(pk=user.pk).time_zone == ""


def test_sign_in_takes_the_browser_zone_when_none_is_chosen(tree, client):
    user = tree.msp_a1_member
    response = client.post(
        reverse("portal:login"),
        {"username": user.email, "password": PASSWORD, "browser_time_zone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).time_zone == "Europe/Berlin"
    client.logout()
    client.post(
        reverse("portal:login"),
        {"username": user.email, "password": PASSWORD, "browser_time_zone": "Asia/Tokyo"},
    )
    assert User.objects.get(pk=user.pk).time_zone == "Europe/Berlin"


def test_sign_in_ignores_a_zone_that_is_none(tree, client):
    user = tree.msp_a1_member
    client.post(
        reverse("portal:login"),
        {"username": user.email, "password": PASSWORD, "browser_time_zone": "<script>"},
    )
    assert User.objects.get(pk=user.pk).time_zone == ""


def test_days_that_are_rules_stay_utc_days_in_any_zone(tree):
    """An API token's expiry day and a two-factor requirement's day start at 00:00 UTC, as the
    README says, whatever zone the user who sets or meets them reads the portal in."""
    with timezone.override(ZoneInfo("Pacific/Auckland")), time_machine.travel(NOW, tick=False):
        form = NewTokenForm({"name": "Export", "scope": ApiToken.Scope.READ_ONLY, "expires_on": "2027-01-10"})
        assert form.is_valid(), form.errors
        assert form.expires_at == datetime(2027, 1, 10, tzinfo=UTC)

        # 10 December 20:00 UTC is already the 11th in Auckland: a rule from the 11th is not in force yet.
        require(tree.msp_a1, on=date(2026, 12, 11))
        evening = datetime(2026, 12, 10, 20, tzinfo=UTC)
        assert not required_for(tree.msp_a1_member, at=evening).in_force
        assert required_for(tree.msp_a1_member, at=evening + timedelta(hours=4)).in_force


def test_an_invitation_sent_by_a_user_in_another_zone_gives_its_expiry_in_utc(
    berliner, tree, mailoutbox, django_capture_on_commit_callbacks
):
    # The email is written during the sender's request, with the sender's zone active.
    with timezone.override(ZoneInfo(berliner.time_zone)), django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invite_user(
            organisation=tree.msp_a1,
            email="new@acme.test",
            full_name="New",
            role=Role.MEMBER,
            actor=Actor(user=berliner),
        )
    expires = invitation.expires_at.astimezone(UTC)
    assert f"expires on {expires:%Y-%m-%d %H:%M} UTC." in mailoutbox[0].body
