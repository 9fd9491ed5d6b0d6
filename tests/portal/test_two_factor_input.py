"""Hostile input to the two-factor pages: a clear answer, never a 500, nothing spent."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from keyledger.testing.tree import PASSWORD
from keyledger.twofactor.devices import recovery_codes_left
from keyledger.twofactor.models import TwoFactorRequirement
from tests.twofactor.helpers import enrol

pytestmark = pytest.mark.django_db

STRANGE = ["", " ", "\x00123456", "1" * 40, "١٢٣٤٥٦", "<script>", "12345\u200b6", "-12345"]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("code", STRANGE)
def test_a_strange_code_at_sign_in_is_refused(tree, client, code):
    enrol(tree.msp_a1_admin)
    client.post(reverse("portal:login"), {"username": tree.msp_a1_admin.email, "password": PASSWORD})
    page = client.post(reverse("portal:two_factor_sign_in"), {"code": code})
    assert page.status_code == 200 and 'class="error"' in page.text
    assert "_auth_user_id" not in client.session
    assert recovery_codes_left(tree.msp_a1_admin) == 10


@pytest.mark.parametrize("code", STRANGE)
def test_a_strange_code_at_set_up_is_refused(tree, client_for, code):
    client = client_for(tree.msp_a1_admin)
    client.get(reverse("portal:two_factor_setup"))
    page = client.post(reverse("portal:two_factor_setup"), {"code": code})
    assert page.status_code == 200 and 'class="error"' in page.text


@pytest.mark.parametrize("day", ["", "31/12/2027", "2027-02-30", "\x00", "9" * 40, "2027-01-01T00:00"])
def test_a_strange_day_is_refused(tree, client_for, day):
    url = reverse("portal:organisation_security", kwargs={"organisation_id": tree.dist_a.pk})
    page = client_for(tree.dist_a_admin).post(url, {"scope": "msps", "applies_from": day})
    assert page.status_code == 200 and 'class="error"' in page.text
    assert not TwoFactorRequirement.objects.exists()
