"""The Django admin shows requirements read-only and no device secrets."""

import pytest
from django.urls import NoReverseMatch, reverse

pytestmark = pytest.mark.django_db


def test_devices_are_not_in_the_django_admin(tree, client_for):
    with pytest.raises(NoReverseMatch):
        reverse("admin:otp_totp_totpdevice_changelist")
    with pytest.raises(NoReverseMatch):
        reverse("admin:otp_static_staticdevice_changelist")
    superuser = tree.vendor_admin
    superuser.is_superuser = True
    superuser.save(update_fields=["is_superuser"])
    page = client_for(superuser).get(reverse("admin:twofactor_twofactorrequirement_changelist"))
    assert page.status_code == 200
