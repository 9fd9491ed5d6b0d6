"""Hostile input to the portal's pages: a clear answer (a field error, or nothing found),
never a 500, and nothing written."""

import pytest
from django.urls import reverse

from keyledger.audit.models import AuditEntry
from keyledger.organisations.models import Invitation, Organisation

LONG_EMAIL = "x" * 300 + "@example.test"


def test_a_search_with_a_nul_character_finds_nothing(tree, client_for):
    response = client_for(tree.dist_a_admin).get(reverse("portal:organisations"), {"q": "Blue\x00bird"})
    assert response.status_code == 200
    assert "Bluebird Managed" in response.text  # an unusable query lists everything, as no query


@pytest.mark.parametrize("raw", ["²", "\u0661", "-1", "1e3", "9" * 30])
def test_revoking_an_invitation_by_a_strange_id_is_not_found(tree, client_for, raw):
    url = reverse("portal:revoke_invitation", kwargs={"organisation_id": tree.msp_a1.pk})
    assert client_for(tree.dist_a_admin).post(url, {"invitation": raw}).status_code == 404


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("portal:invite_user", {"email": LONG_EMAIL, "full_name": "N", "role": "member"}),
        (
            "portal:invite_msp",
            {
                "email": LONG_EMAIL,
                "name": "N",
                "company": "C",
                "city": "c",
                "country": "c",
                "postal_code": "1",
            },
        ),
    ],
)
def test_an_email_too_long_for_its_column_is_a_field_error(tree, client_for, url_name, data):
    url = reverse(url_name, kwargs={"organisation_id": tree.dist_a.pk})
    counts = (Organisation.objects.count(), Invitation.objects.count(), AuditEntry.objects.count())
    response = client_for(tree.dist_a_admin).post(url, data)
    assert response.status_code in (200, 422)
    assert response.context["form"].errors["email"]
    assert (Organisation.objects.count(), Invitation.objects.count(), AuditEntry.objects.count()) == counts


STRANGE_LIST_PARAMETERS = {
    "q": "Blue\x00bird",
    "accounts": "\x00",
    "sort": "-\x00",
    "status": "x" * 1000,
    "page": "9" * 40,
    "accounts_page": "-1",
    "critical": "\x00",
    "product": "\u0661",
    "edit": "\x00",
}


@pytest.mark.parametrize(
    ("url_name", "argument"),
    [
        ("portal:key_management", None),
        ("portal:msp_key_management", "msp"),
        ("portal:account_detail", "account"),
        ("portal:site_detail", "site"),
        ("portal:account_keys", "account"),
        ("portal:site_keys", "site"),
        ("portal:account_keys_csv", "account"),
        ("portal:site_keys_csv", "site"),
        ("portal:organisations", None),
        ("portal:users", None),
        ("portal:search", None),
    ],
)
def test_lists_take_strange_parameters_without_a_server_error(tree, client_for, url_name, argument):
    """Sorts, filters and pages a list does not know are ignored or a clear message."""
    objects = {"msp": tree.msp_a1, "account": tree.account_a1, "site": tree.site_a1}
    kwargs = {f"{argument}_id": objects[argument].pk} if argument else {}
    url = reverse(url_name, kwargs=kwargs)
    for name, value in STRANGE_LIST_PARAMETERS.items():
        response = client_for(tree.dist_a_admin).get(url, {name: value})
        assert response.status_code < 500, (name, response.status_code)
        if response.streaming:
            b"".join(response.streaming_content)
