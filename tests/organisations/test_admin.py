"""The Django admin: vendor staff read the tree; adding Terms publishes through the action."""

import pytest
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.organisations.models import Organisation, TermsVersion, User


@pytest.fixture
def staff_client(tree, client):
    """Vendor staff: is_staff, in the vendor organisation, without per-model permissions."""
    client.force_login(tree.vendor_admin)
    return client


@pytest.mark.parametrize("model", ["organisation", "user", "invitation", "termsversion", "termsacceptance"])
def test_every_onboarding_model_is_listed(staff_client, model):
    response = staff_client.get(reverse(f"admin:organisations_{model}_changelist"))
    assert response.status_code == 200


def test_the_tree_is_read_only_in_the_admin(tree, staff_client):
    assert staff_client.get(reverse("admin:organisations_organisation_add")).status_code == 403
    change = reverse("admin:organisations_organisation_change", args=[tree.dist_a.pk])
    staff_client.post(change, {"name": "Renamed"})
    assert Organisation.objects.get(pk=tree.dist_a.pk).name == "Northwind Distribution"


def test_adding_terms_in_the_admin_publishes_the_next_version(tree, staff_client):
    response = staff_client.post(
        reverse("admin:organisations_termsversion_add"), {"title": "Terms of Service", "text": "Version two."}
    )
    assert response.status_code == 302
    terms = TermsVersion.objects.get(text="Version two.")
    assert terms.version == 2
    row = AuditEntry.objects.get(action="terms.publish")
    assert row.actor_user == tree.vendor_admin and row.organisation == tree.vendor


def test_a_superuser_may_use_it_too(tree, client):
    client.force_login(User.objects.create_superuser("root@vendor.test", "Long-admin-pass-314"))
    assert client.get(reverse("admin:organisations_organisation_changelist")).status_code == 200


def test_staff_flag_outside_the_vendor_opens_nothing(tree, client):
    tree.dist_a_admin.is_staff = True
    tree.dist_a_admin.save(update_fields=["is_staff"])
    client.force_login(tree.dist_a_admin)
    assert client.get(reverse("admin:organisations_organisation_changelist")).status_code == 403
    response = client.post(reverse("admin:organisations_termsversion_add"), {"title": "T", "text": "Mine."})
    assert response.status_code == 403
    assert not TermsVersion.objects.filter(text="Mine.").exists()
