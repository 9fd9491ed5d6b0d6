from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from keyledger.api.models import ApiToken, hash_secret
from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.organisations.actions import deactivate_user
from tests.api.conftest import ApiClient, make_token

URL = reverse("portal:api_tokens")


def revoke_url(token: ApiToken) -> str:
    return reverse("portal:revoke_api_token", kwargs={"token_id": token.pk})


def test_the_tab_shows_for_admins_only(tree, client_for):
    assert URL in client_for(tree.dist_a_admin).get(reverse("portal:home"), follow=True).content.decode()


@pytest.mark.parametrize("role_user", ["dist_a_member", "dist_a_billing", "dist_a_readonly", "msp_a1_member"])
def test_only_admins_manage_tokens(tree, client_for, role_user):
    client = client_for(getattr(tree, role_user))
    token, _ = make_token(getattr(tree, role_user).organisation)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"name": "x", "scope": "read-only"}).status_code == 403
    assert client.post(revoke_url(token)).status_code == 403
    assert ApiToken.objects.filter(name="x").count() == 0
    token.refresh_from_db()
    assert token.revoked_at is None


def test_creating_a_token_shows_the_secret_once_and_stores_only_its_hash(tree, client_for):
    client = client_for(tree.dist_a_admin)
    response = client.post(URL, {"name": "PSA integration", "scope": "read-write"})
    assert response.status_code == 200
    token = ApiToken.objects.get(name="PSA integration")
    secret = response.context["secret"]
    assert secret.startswith(token.prefix + "_")
    body = response.content.decode()
    assert secret in body
    assert "shown only this once" in body
    assert "no-store" in response["Cache-Control"]
    assert token.secret_hash == hash_secret(secret)
    assert secret not in {v for v in vars(token).values() if isinstance(v, str)}
    assert token.organisation == tree.dist_a
    assert token.created_by == tree.dist_a_admin
    assert token.scope == ApiToken.Scope.READ_WRITE
    # The list shows the prefix from now on, never the secret.
    listing = client.get(URL).content.decode()
    assert token.prefix in listing
    assert secret not in listing
    entry = AuditEntry.objects.get(action="api_token.create")
    assert entry.actor_user == tree.dist_a_admin
    assert secret not in str(entry.changes)
    # The secret works.
    assert ApiClient(secret).get("/organisations").status_code == 200


def test_a_token_needs_a_name_and_a_scope(tree, client_for):
    response = client_for(tree.dist_a_admin).post(URL, {"name": "  ", "scope": "admin"})
    assert response.status_code == 200
    assert "secret" not in response.context or not response.context["secret"]
    form = response.context["form"]
    assert set(form.errors) == {"name", "scope"}
    assert not ApiToken.objects.exists()


def test_the_list_shows_the_organisations_own_tokens_only(tree, client_for, django_assert_max_num_queries):
    own = [make_token(tree.dist_a)[0] for _ in range(5)]
    msp_token, _ = make_token(tree.msp_a1)
    other, _ = make_token(tree.dist_b)
    client = client_for(tree.dist_a_admin)
    with django_assert_max_num_queries(12):
        body = client.get(URL).content.decode()
    assert all(t.prefix in body for t in own)
    assert msp_token.prefix not in body
    assert other.prefix not in body


def test_revoking_refuses_the_token_at_once(tree, client_for):
    token, secret = make_token(tree.dist_a)
    api = ApiClient(secret)
    assert api.get("/organisations").status_code == 200
    client = client_for(tree.dist_a_admin)
    confirm = client.get(revoke_url(token))
    assert confirm.status_code == 200
    assert token.prefix in confirm.content.decode()
    response = client.post(revoke_url(token), follow=True)
    assert "is revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in response.content.decode()
    assert api.get("/organisations").status_code == 401
    entry = AuditEntry.objects.get(action="api_token.revoke")
    assert entry.object_id == str(token.pk)
    assert entry.actor_user == tree.dist_a_admin


def test_revoking_twice_keeps_the_first_revocation(tree, client_for):
    token, _ = make_token(tree.dist_a)
    client = client_for(tree.dist_a_admin)
    client.post(revoke_url(token))
    token.refresh_from_db()
    first = token.revoked_at
    response = client.post(revoke_url(token), follow=True)
    assert "already revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at == first
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1


def test_an_msp_admin_cannot_revoke_its_distributors_token(tree, client_for):
    token, _ = make_token(tree.dist_a)
    assert client_for(tree.msp_a1_admin).post(revoke_url(token)).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_token_may_expire_on_a_chosen_day(tree, client_for):
    client = client_for(tree.dist_a_admin)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            URL, {"name": "Year-end export", "scope": "read-only", "expires_on": "2026-12-31"}
        )
        assert response.status_code == 200
        assert response.context["secret"]
        token = ApiToken.objects.get(name="Year-end export")
        assert token.expires_at == datetime(2026, 12, 31, tzinfo=UTC)
        assert "2026-12-31 00:00 UTC" in client.get(URL).content.decode()
        assert ApiClient(response.context["secret"]).get("/accounts").status_code == 200
    with time_machine.travel(datetime(2026, 12, 31, tzinfo=UTC), tick=False):
        assert ApiClient(response.context["secret"]).get("/accounts").status_code == 401
        listing = client_for(tree.dist_a_admin).get(URL).content.decode()  # the session has lapsed meanwhile
        assert "expired on 2026-12-31" in listing


def test_a_token_without_an_expiry_never_expires(tree, client_for):
    client_for(tree.dist_a_admin).post(URL, {"name": "PSA", "scope": "read-only", "expires_on": ""})
    assert ApiToken.objects.get(name="PSA").expires_at is None


@pytest.mark.parametrize("day", ["2026-11-02", "2026-11-01", "2025-01-01", "2026-13-01", "soon"])
def test_an_expiry_today_in_the_past_or_not_a_date_is_refused_on_the_field(tree, client_for, day):
    with time_machine.travel(NOW, tick=False):
        response = client_for(tree.dist_a_admin).post(
            URL, {"name": "PSA", "scope": "read-only", "expires_on": day}
        )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"expires_on"}
    assert not response.context["secret"]
    assert not ApiToken.objects.exists()


def test_the_list_shows_whose_role_bounds_each_token(tree, client_for):
    make_token(tree.dist_a, user=tree.dist_a_member)
    unknown, _ = make_token(tree.dist_a, user=tree.dist_a_admin)
    ApiToken.objects.filter(pk=unknown.pk).update(created_by=None)
    make_token(tree.dist_a, user=tree.dist_a_billing)
    deactivate_user(user=tree.dist_a_billing, actor=Actor(user=tree.dist_a_admin))
    body = client_for(tree.dist_a_admin).get(URL).content.decode()
    assert "Bounded by" in body
    assert tree.dist_a_member.email in body and "Member role" in body
    assert "No known creator: Read-only role" in body
    make_token(tree.dist_a, user=tree.vendor_admin)
    body = client_for(tree.dist_a_admin).get(URL).content.decode()
    assert f"Not a user of {tree.dist_a.name}: Read-only role" in body
    assert f"The user who created this API token ({tree.dist_a_billing.email}) is deactivated." in body
