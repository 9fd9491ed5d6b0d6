"""The sign-in page: wrong passwords lock the email for a growing time, with the same words
whether or not the email has a login; failures and locks are audited for the right eyes."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.testing.tree import PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LOGIN = reverse("portal:login")


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def attempt(client, email: str, password: str):
    return client.post(LOGIN, {"username": email, "password": password})


def test_sixty_wrong_passwords_lock_the_account_and_refuse_the_right_one(client, tree):
    email = tree.dist_a_admin.email
    with time_machine.travel(START, tick=False) as clock:
        pages = [attempt(client, email, f"wrong {i}") for i in range(60)]
        assert all(p.status_code == 200 for p in pages)
        assert all("do not match" in p.content.decode() for p in pages[:4])
        assert all("Signing in is paused for 1 minute" in p.content.decode() for p in pages[4:])
        # Even the right password is refused while the lock lasts.
        page = attempt(client, email, PASSWORD)
        assert page.status_code == 200 and "Signing in is paused" in page.content.decode()
        assert "_auth_user_id" not in client.session
        # After the minute, one more wrong password locks it again, for two minutes.
        clock.move_to(START + timedelta(seconds=61))
        assert "paused for 2 minutes" in attempt(client, email, "wrong again").content.decode()
        clock.move_to(START + timedelta(seconds=61 + 121))
        assert attempt(client, email, PASSWORD).status_code == 302
    # Only the attempts that tested a password were counted: locked ones test nothing.
    assert AuditEntry.objects.filter(action="user.sign_in_failed").count() == 6
    assert AuditEntry.objects.filter(action="user.sign_in_locked").count() == 2
    assert AuditEntry.objects.filter(action="user.sign_in", ip_address="127.0.0.1").count() == 1


def errors(page) -> str:
    return re.search(r'<div class="form-errors" role="alert">(.*?)</div>', page.content.decode(), re.S).group(
        1
    )


def test_the_lock_reads_the_same_whether_or_not_the_email_exists(client, tree):
    known = [errors(attempt(client, tree.dist_a_admin.email, "wrong")) for _ in range(6)]
    unknown = [errors(attempt(client, "nobody@example.test", "wrong")) for _ in range(6)]
    assert known == unknown
    assert "do not match" in known[0] and "paused for 1 minute" in known[5]


def test_a_good_sign_in_forgets_the_failures(client, tree):
    email = tree.msp_a1_admin.email
    for _ in range(4):
        attempt(client, email, "wrong")
    assert attempt(client, email, PASSWORD).status_code == 302
    client.post(reverse("portal:logout"))
    for _ in range(4):
        assert "do not match" in attempt(client, email, "wrong").content.decode()


def test_many_emails_from_one_address_pause_that_address(client, tree, settings):
    settings.KEYLEDGER_SIGN_IN_MAX_FAILURES_PER_IP = 10
    for i in range(10):
        attempt(client, f"guess{i}@example.test", "wrong")
    page = attempt(client, tree.dist_a_admin.email, PASSWORD)
    assert "from your network" in page.content.decode()
    # Another address is not held back.
    assert (
        client.post(
            LOGIN, {"username": tree.dist_a_admin.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.5"
        ).status_code
        == 302
    )


def test_the_audit_log_shows_failures_to_the_organisation_and_above_only(client, tree):
    attempt(client, tree.msp_a1_admin.email, "wrong")
    attempt(client, "ghost@example.test", "wrong")
    for viewer, sees in [
        (tree.msp_a1_admin, True),
        (tree.dist_a_admin, True),
        (tree.vendor_admin, True),
        (tree.dist_b_admin, False),
        (tree.msp_a2_admin, False),
    ]:
        client.force_login(viewer)
        page = client.get(reverse("portal:audit_log")).content.decode()
        assert ("user.sign_in_failed" in page) is sees, viewer
        assert ("127.0.0.1" in page) is sees, viewer  # where the attempt came from
        assert "ghost@example.test" not in page and "failed_unknown_email" not in page
