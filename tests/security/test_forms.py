"""The Django admin's sign-in form counts wrong passwords like the portal's (the portal
sends the admin's sign-in page to its own, but the form holds on its own too)."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.test import RequestFactory

from keyledger.audit.models import AuditEntry
from keyledger.security.forms import AdminSignInForm
from keyledger.testing.tree import PASSWORD

pytestmark = pytest.mark.django_db


def admin_form(email: str, password: str) -> AdminSignInForm:
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="192.0.2.8")
    request.session = SessionStore()
    return AdminSignInForm(request, data={"username": email, "password": password})


def test_the_admin_sign_in_form_is_throttled_too(tree):
    cache.clear()
    email = tree.vendor_admin.email
    assert admin_form(email, PASSWORD).is_valid()
    for _ in range(5):
        form = admin_form(email, "wrong")
        assert not form.is_valid()
    assert "Signing in is paused for 1 minute" in str(form.errors)
    form = admin_form(email, PASSWORD)
    assert not form.is_valid() and "Signing in is paused" in str(form.errors)
    assert AuditEntry.objects.filter(action="user.sign_in_failed", ip_address="192.0.2.8").count() == 5
