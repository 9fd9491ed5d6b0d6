from datetime import timedelta

import time_machine
from django.utils import timezone

from keyledger.api.actions import revoke_token
from keyledger.api.auth import find_token
from keyledger.api.models import ApiToken, hash_secret
from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.organisations.actions import withdraw_portal_access
from tests.api.conftest import ApiClient, make_token


def test_a_token_is_stored_hashed_behind_a_visible_prefix(tree):
    token, secret = make_token(tree.dist_a)
    assert token.prefix.startswith("kl_") and len(token.prefix) == 11
    assert secret.startswith(token.prefix + "_")
    assert token.secret_hash == hash_secret(secret)
    assert not ApiToken.objects.filter(secret_hash=secret).exists()
    assert find_token(secret) == token


def test_no_token_answers_401_with_a_bearer_challenge(tree):
    response = ApiClient(None).get("/organisations")
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "detail": "Send a valid API token: Authorization: Bearer <token>.",
        "field": None,
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_mistyped_and_foreign_tokens_answer_401(tree):
    token, secret = make_token(tree.dist_a)
    for text in ["kl_abcdefgh_nothing", secret[:-1] + ("A" if secret[-1] != "A" else "B"), token.prefix, "x"]:
        assert ApiClient(text).get("/organisations").status_code == 401, text
    basic = ApiClient(None).get("/organisations", headers={"Authorization": f"Basic {secret}"})
    assert basic.status_code == 401


def test_a_revoked_token_is_refused_at_once(tree):
    token, secret = make_token(tree.dist_a)
    api = ApiClient(secret)
    assert api.get("/organisations").status_code == 200
    revoke_token(token=token, actor=Actor(user=tree.dist_a_admin))
    assert api.get("/organisations").status_code == 401


def test_withdrawing_portal_access_locks_the_msps_tokens_out(tree):
    _, secret = make_token(tree.msp_a1)
    api = ApiClient(secret)
    assert api.get("/accounts").status_code == 200
    withdraw_portal_access(msp=tree.msp_a1, actor=Actor(user=tree.dist_a_admin))
    assert api.get("/accounts").status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute(tree, django_assert_num_queries):
    token, secret = make_token(tree.dist_a)
    api = ApiClient(secret)
    assert token.last_used_at is None
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api.get(f"/organisations/{tree.dist_a.pk}")
    token.refresh_from_db()
    assert token.last_used_at == start
    # Within the minute: the token lookup and the organisation, no write.
    with time_machine.travel(start + timedelta(seconds=59), tick=False), django_assert_num_queries(2):
        api.get(f"/organisations/{tree.dist_a.pk}")
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api.get(f"/organisations/{tree.dist_a.pk}")
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)


def test_a_read_only_token_reads_but_never_writes(tree, api_for):
    api = api_for(tree.dist_a, scope="read-only")
    assert api.get("/accounts").status_code == 200
    response = api.post("/accounts", {"msp_id": tree.msp_a1.pk, "name": "Echo Bakery"})
    assert response.status_code == 403
    assert response.json()["error"] == "read_only_token"
    assert not tree.msp_a1.accounts.filter(name="Echo Bakery").exists()


def test_changes_made_through_the_api_are_audited_with_the_token(tree):
    token, secret = make_token(tree.dist_a, user=tree.dist_a_admin)
    response = ApiClient(secret).post(
        "/accounts", {"msp_id": tree.msp_a1.pk, "name": "Echo Bakery"}, REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="account.create")
    assert entry.actor_token_id == token.pk
    assert entry.actor_user == tree.dist_a_admin
    assert entry.channel == "api"
    assert entry.actor_label == f"API token {token.prefix}"
    assert entry.ip_address == "198.51.100.7"
