"""The audit log page: the subtree's changes, newest first, 50 a page, filtered by action."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from keyledger.audit.models import AuditEntry
from keyledger.audit.record import record
from keyledger.organisations import actions
from tests.organisations.helpers import actor_for


def test_an_admin_reads_its_subtree_newest_first(tree, client_for):
    actions.create_msp(
        distributor=tree.dist_a,
        name="First MSP",
        city="",
        state="",
        country="",
        postal_code="",
        actor=actor_for(tree.dist_a_admin),
    )
    actions.withdraw_portal_access(msp=tree.msp_a2, actor=actor_for(tree.dist_a_admin, ip="192.0.2.8"))
    actions.create_msp(
        distributor=tree.dist_b,
        name="Elsewhere",
        city="",
        state="",
        country="",
        postal_code="",
        actor=actor_for(tree.dist_b_admin),
    )
    body = client_for(tree.dist_a_admin).get(reverse("portal:audit_log")).text
    assert "First MSP" in body and "Bluebird Managed" in body and "192.0.2.8" in body
    assert "Elsewhere" not in body
    assert body.index("organisation.withdraw_portal_access") < body.index("organisation.create_msp</code>")


def test_filter_by_action(tree, client_for):
    actions.create_msp(
        distributor=tree.dist_a,
        name="First MSP",
        city="",
        state="",
        country="",
        postal_code="",
        actor=actor_for(tree.dist_a_admin),
    )
    actions.withdraw_portal_access(msp=tree.msp_a2, actor=actor_for(tree.dist_a_admin))
    response = client_for(tree.dist_a_admin).get(
        reverse("portal:audit_log"), {"action": "organisation.create_msp"}
    )
    assert "First MSP" in response.text and "Bluebird Managed" not in response.text
    assert [e.action for e in response.context["page"]] == ["organisation.create_msp"]


def test_pages_of_fifty_without_a_query_per_row(tree, client_for, django_assert_max_num_queries):
    start = timezone.now() - timedelta(days=1)
    entries = [
        AuditEntry(
            at=start + timedelta(minutes=i),
            actor_label="someone",
            organisation=tree.msp_a1,
            organisation_path=tree.msp_a1.path,
            action="key.add",
            object_repr=f"Key {i:03}",
            channel="web",
        )
        for i in range(120)
    ]
    AuditEntry.objects.bulk_create(entries)
    client = client_for(tree.dist_a_admin)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("portal:audit_log"))
    page = response.context["page"]
    assert len(page) == 50 and page.paginator.num_pages == 3
    assert page[0].object_repr == "Key 119"  # newest first
    response = client.get(reverse("portal:audit_log"), {"page": 3, "action": "key.add"})
    assert len(response.context["page"]) == 20 and "Key 000" in response.text
    assert "action=key.add" in client.get(reverse("portal:audit_log"), {"action": "key.add"}).text


def test_vendor_staff_see_terms_publishing(tree, client_for):
    actions.publish_terms(text="Two.", actor=actor_for(tree.vendor_admin))
    assert "terms.publish" in client_for(tree.vendor_admin).get(reverse("portal:audit_log")).text
    assert "terms.publish" not in client_for(tree.dist_a_admin).get(reverse("portal:audit_log")).text


def test_an_msp_admin_sees_only_its_own(tree, client_for):
    record(
        actor=actor_for(tree.dist_a_admin), action="organisation.x", organisation=tree.dist_a, obj=tree.dist_a
    )
    record(
        actor=actor_for(tree.dist_a_admin), action="organisation.y", organisation=tree.msp_a1, obj=tree.msp_a1
    )
    body = client_for(tree.msp_a1_admin).get(reverse("portal:audit_log")).text
    assert "organisation.y" in body and "organisation.x" not in body


def test_an_msp_sees_its_distributors_people_by_organisation_name_only(tree, client_for):
    # A change the distributor made inside the MSP's subtree, and one the MSP made itself.
    actions.withdraw_portal_access(msp=tree.msp_a1, actor=actor_for(tree.dist_a_admin, ip="192.0.2.8"))
    record(
        actor=actor_for(tree.msp_a1_member, ip="198.51.100.4"),
        action="account.create",
        organisation=tree.msp_a1,
    )
    tree.msp_a1.portal_access = "active"
    tree.msp_a1.save(update_fields=["portal_access"])
    response = client_for(tree.msp_a1_admin).get(reverse("portal:audit_log"))
    body = response.text
    assert "organisation.withdraw_portal_access" in body
    assert tree.dist_a_admin.email not in body and "192.0.2.8" not in body
    assert tree.dist_a.name in body
    # The MSP's own people stay named, with where they came from.
    assert tree.msp_a1_member.email in body and "198.51.100.4" in body
    # The distributor itself still sees its own admin by email.
    assert tree.dist_a_admin.email in client_for(tree.dist_a_admin).get(reverse("portal:audit_log")).text
