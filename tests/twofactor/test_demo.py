"""The demo requires no second factor: every demo login signs in with the password alone."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from keyledger.demo import data
from keyledger.twofactor.models import TwoFactorRequirement
from tests.demo.test_demo import loaded_once  # noqa: F401 (the demo, loaded once for this module)


@pytest.fixture
def demo(loaded_once, db) -> str:  # noqa: F811
    cache.clear()
    yield loaded_once
    cache.clear()


def test_every_demo_login_signs_in_with_the_password_alone(demo):
    assert not TwoFactorRequirement.objects.exists()
    for person in (p for p in data.people() if p.what):
        client = Client()
        response = client.post(reverse("portal:login"), {"username": person.email, "password": data.PASSWORD})
        assert response.status_code == 302 and response["Location"] != reverse("portal:two_factor_sign_in")
        page = client.get(reverse("portal:profile"))
        assert page.status_code == 200, person.email
        assert "two-factor-notice" not in page.text
