"""The role matrix: inside its own subtree, a user may do only what its role allows.

Like the outsider matrix, the routes come from the URL configuration, so a new view is
checked without anyone remembering to add it: a read-only user's POST to any page
changes nothing and is refused; a billing user sees no page but the reports.
"""

import pytest
from django.urls import reverse

from keyledger.audit.actor import Actor
from keyledger.audit.models import AuditEntry
from keyledger.keys.actions import source_keys
from keyledger.keys.models import Product
from keyledger.testing.tree import Tree
from keyledger.testing.urls import portal_routes
from tests.access.test_outsiders import PUBLIC, VICTIM_OBJECTS, draft_statement, price_list

# Pages every signed-in user may use whatever the role: the home page, accepting the Terms,
# their own profile.
EVERY_ROLE = {
    "portal:home",
    "portal:accept_terms",
    "portal:profile",
    "portal:two_factor_setup",
    "portal:two_factor_recovery_codes",
    "portal:two_factor_turn_off",
    "portal:change_password",
    "portal:sign_out_other_sessions",
    "portal:change_time_zone",
}


def member_may(name: str) -> bool:
    """Key Management (accounts, sites, keys) and the reports; onboarding, users, API tokens
    and the audit log are an admin's."""
    page = name.removeprefix("portal:")
    return "key" in page or page.startswith(
        ("account", "site", "report", "statement", "price_list", "overview", "search")
    )


def billing_may_see(name: str) -> bool:
    """The billing role: the reports, the statements and the price lists (reading)."""
    return name.removeprefix("portal:").startswith(("report", "statement", "price_list"))


def own_objects(tree: Tree) -> dict:
    """Objects inside dist_a's subtree, which its read-only and billing users reach."""
    key = source_keys(
        product=Product.objects.get(code="spmsp"),
        quantity=1,
        account=tree.account_a1,
        site=tree.site_a1,
        fields={},
        actor=Actor.system(),
    )[0]
    return {
        "organisation": tree.msp_a1,
        "msp": tree.msp_a1,
        "account": tree.account_a1,
        "site": tree.site_a1,
        "user": tree.msp_a1_member,
        "key": key,
        "statement": draft_statement(tree.msp_a1),
        "price_list": price_list(tree.msp_a1),
    }


def urls(tree: Tree, *, exclude: set[str]) -> list[tuple[str, str]]:
    objects = own_objects(tree)
    return [
        (route.name, reverse(route.name, kwargs={k: VICTIM_OBJECTS[k](objects) for k in route.kwargs}))
        for route in portal_routes()
        if route.name not in PUBLIC | exclude
    ]


def test_read_only_user_can_change_nothing(tree, client):
    client.force_login(tree.dist_a_readonly)
    targets = urls(tree, exclude=EVERY_ROLE)
    audit_rows = AuditEntry.objects.count()
    # 405: a page that only reads refuses POST outright, which changes nothing either.
    allowed = [
        f"POST {url} ({name}) → {r.status_code}"
        for name, url in targets
        if (r := client.post(url)).status_code not in (403, 405)
    ]
    assert not allowed, "\n".join(allowed)
    assert AuditEntry.objects.count() == audit_rows
    assert len(targets) >= 10


@pytest.mark.parametrize("user", ["dist_a_billing"])
def test_billing_user_sees_reports_only(tree, client, user):
    client.force_login(getattr(tree, user))
    targets = [(n, u) for n, u in urls(tree, exclude=EVERY_ROLE) if not billing_may_see(n)]
    audit_rows = AuditEntry.objects.count()
    shown = [
        f"GET {url} ({name}) → {r.status_code}"
        for name, url in targets
        if (r := client.get(url)).status_code != 403
    ]
    shown += [
        f"POST {url} ({name}) → {r.status_code}"
        for name, url in targets
        if (r := client.post(url)).status_code not in (403, 405)
    ]
    assert not shown, "\n".join(shown)
    assert AuditEntry.objects.count() == audit_rows
    assert len(targets) >= 10


def test_member_neither_onboards_nor_manages_users_tokens_or_audit(tree, client):
    client.force_login(tree.dist_a_member)
    targets = urls(tree, exclude=EVERY_ROLE)
    refused = [(n, u) for n, u in targets if not member_may(n)]
    audit_rows = AuditEntry.objects.count()
    allowed = [
        f"GET {u} ({n}) → {r.status_code}" for n, u in refused if (r := client.get(u)).status_code != 403
    ]
    allowed += [
        f"POST {u} ({n}) → {r.status_code}"
        for n, u in refused
        if (r := client.post(u)).status_code not in (403, 405)
    ]
    assert not allowed, "\n".join(allowed)
    assert AuditEntry.objects.count() == audit_rows
    assert {"portal:new_msp", "portal:invite_msp", "portal:users", "portal:api_tokens"} <= {
        n for n, _ in refused
    }
    # The control: the pages a member may use answer it.
    opened = [n for n, u in targets if member_may(n) and client.get(u).status_code == 200]
    assert {"portal:msp_key_management", "portal:account_detail", "portal:key_detail"} <= set(opened)


def test_admin_is_refused_nothing_the_other_roles_are(tree, client):
    """The control of the matrix: the 403s above come from the role, not from the page."""
    client.force_login(tree.dist_a_admin)
    refused = [
        f"GET {url} ({name})"
        for name, url in urls(tree, exclude=EVERY_ROLE)
        if client.get(url).status_code == 403
    ]
    # Only vendor staff set an agreement, keep the Terms or create a distributor under an MSP.
    assert set(refused) <= {
        f"GET {reverse(n, kwargs={'organisation_id': tree.msp_a1.pk})} ({n})"
        for n in ("portal:edit_agreement", "portal:new_distributor", "portal:resend_invitation")
    } | {f"GET {reverse('portal:terms')} (portal:terms)"}, refused


def test_read_only_user_still_reads_keys(tree, client):
    client.force_login(tree.dist_a_readonly)
    response = client.get(reverse("portal:msp_key_management", kwargs={"msp_id": tree.msp_a1.pk}))
    assert response.status_code == 200
    assert tree.account_a1.name in response.content.decode()
