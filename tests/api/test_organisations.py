import pytest

from keyledger.audit.models import AuditEntry
from keyledger.organisations.models import Invitation, Organisation
from keyledger.testing.tree import make_user

Access = Organisation.PortalAccess


def names(response) -> set[str]:
    return {o["name"] for o in response.json()["items"]}


def test_a_distributor_lists_its_subtree(tree, api_for, django_assert_max_num_queries):
    api = api_for(tree.dist_a)
    with django_assert_max_num_queries(4):
        response = api.get("/organisations")
    assert response.status_code == 200
    assert names(response) == {"Northwind Distribution", "Acme IT", "Bluebird Managed", "Cobalt Services"}
    assert response.json()["count"] == 4
    first = response.json()["items"][0]
    assert first["kind"] == "distributor"
    assert first["agreement"] == {
        "may_invite_msps": True,
        "may_provision_cloud": False,
        "may_create_subdistributors": False,
    }


def test_the_vendor_lists_everything(tree, api_for):
    response = api_for(tree.vendor).get("/organisations", {"kind": "distributor"})
    assert names(response) == {"Northwind Distribution", "Southgate Supply"}


def test_an_msp_lists_itself_only(tree, api_for):
    assert names(api_for(tree.msp_a1).get("/organisations")) == {"Acme IT"}


def test_the_organisation_above_the_token_is_not_named(tree, api_for):
    own = api_for(tree.msp_a1).get(f"/organisations/{tree.msp_a1.pk}").json()
    assert own["parent_id"] is None
    (listed,) = api_for(tree.msp_a1).get("/organisations").json()["items"]
    assert listed["parent_id"] is None
    # Below the token, the parent is the token's to know.
    below = api_for(tree.dist_a).get(f"/organisations/{tree.msp_a1.pk}").json()
    assert below["parent_id"] == tree.dist_a.pk


def test_organisations_filter_by_parent_and_paginate(tree, api_for):
    api = api_for(tree.vendor)
    response = api.get("/organisations", {"parent_id": tree.dist_a.pk, "limit": 2, "offset": 1})
    body = response.json()
    assert body["count"] == 3
    assert (body["limit"], body["offset"]) == (2, 1)
    assert len(body["items"]) == 2
    assert {o["parent_id"] for o in body["items"]} == {tree.dist_a.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 501}, "limit"), ({"offset": -1}, "offset"), ({"kind": "reseller"}, "kind")],
)
def test_bad_list_parameters_name_the_field(tree, api_for, params, field):
    response = api_for(tree.dist_a).get("/organisations", params)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_field"
    assert response.json()["field"] == field


def test_get_an_organisation(tree, api_for):
    response = api_for(tree.dist_a).get(f"/organisations/{tree.msp_a3.pk}")
    assert response.status_code == 200
    assert response.json()["name"] == "Cobalt Services"
    assert response.json()["portal_access"] == "none"
    assert response.json()["agreement"] is None


def test_new_msp(tree, api_for):
    api = api_for(tree.dist_a)
    body = {
        "name": "Delta Systems",
        "city": "Leeds",
        "state": "West Yorkshire",
        "country": "GB",
        "postal_code": "LS1",
    }
    response = api.post(f"/organisations/{tree.dist_a.pk}/msps", body)
    assert response.status_code == 201
    msp = Organisation.objects.get(pk=response.json()["id"])
    assert (msp.parent, msp.kind, msp.region, msp.portal_access) == (tree.dist_a, "msp", "EMEA", Access.NONE)
    assert msp.city == "Leeds"
    entry = AuditEntry.objects.get(action="organisation.create_msp")
    assert entry.channel == "api" and entry.actor_token_id is not None


def test_new_msp_needs_a_name(tree, api_for):
    response = api_for(tree.dist_a).post(f"/organisations/{tree.dist_a.pk}/msps", {"city": "Leeds"})
    assert response.status_code == 422
    assert response.json()["field"] == "name"
    assert not Organisation.objects.filter(city="Leeds").exists()


def test_msps_are_created_under_a_distributor_only(tree, api_for):
    # As in the portal: New MSP names a distributor; an MSP is not one.
    response = api_for(tree.msp_a1).post(f"/organisations/{tree.msp_a1.pk}/msps", {"name": "Sub"})
    assert response.status_code == 404
    assert not Organisation.objects.filter(name="Sub").exists()


def test_invite_an_msp(tree, api_for, mailoutbox, django_capture_on_commit_callbacks):
    body = {
        "email": "owner@echo.test",
        "name": "Erin Echo",
        "company": "Echo IT",
        "city": "York",
        "country": "GB",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(tree.dist_a).post(f"/organisations/{tree.dist_a.pk}/invitations", body)
    assert response.status_code == 201
    data = response.json()
    assert data["organisation"]["name"] == "Echo IT"
    assert data["organisation"]["portal_access"] == "invited"
    assert data["invitation"]["email"] == "owner@echo.test"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["owner@echo.test"]


def test_invite_is_refused_where_the_agreement_does_not_allow_it(tree, api_for, mailoutbox):
    body = {"email": "owner@echo.test", "name": "Erin Echo", "company": "Echo IT"}
    response = api_for(tree.dist_b).post(f"/organisations/{tree.dist_b.pk}/invitations", body)
    assert response.status_code == 403
    assert response.json()["error"] == "not_allowed_by_agreement"
    assert not Organisation.objects.filter(name="Echo IT").exists()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "name": "E", "company": "Echo IT"}, "email"),
        ({"email": "owner@echo.test", "name": "E"}, "company"),
    ],
)
def test_invite_with_bad_input_names_the_field_and_writes_nothing(tree, api_for, body, field):
    response = api_for(tree.dist_a).post(f"/organisations/{tree.dist_a.pk}/invitations", body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not Organisation.objects.filter(name="Echo IT").exists()
    assert not Invitation.objects.exists()


def test_grant_portal_access_invites_an_msp_without_users(
    tree, api_for, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(tree.dist_a).post(
            f"/organisations/{tree.msp_a3.pk}/portal-access", {"email": "cobalt@example.test", "name": "Cy"}
        )
    assert response.status_code == 200
    assert response.json()["organisation"]["portal_access"] == "invited"
    assert response.json()["invitation"]["email"] == "cobalt@example.test"
    assert mailoutbox[0].to == ["cobalt@example.test"]


def test_grant_portal_access_gives_users_back_at_once(tree, api_for):
    tree.msp_a3.portal_access = Access.WITHDRAWN
    tree.msp_a3.save(update_fields=["portal_access"])
    make_user(tree.msp_a3, "cobalt-admin@example.test")
    response = api_for(tree.dist_a).post(f"/organisations/{tree.msp_a3.pk}/portal-access", {})
    assert response.status_code == 200
    assert response.json()["organisation"]["portal_access"] == "active"
    assert response.json()["invitation"] is None


def test_grant_portal_access_needs_an_email_for_an_msp_without_users(tree, api_for):
    response = api_for(tree.dist_a).post(f"/organisations/{tree.msp_a3.pk}/portal-access", {})
    assert response.status_code == 422
    assert response.json()["field"] == "email"
    tree.msp_a3.refresh_from_db()
    assert tree.msp_a3.portal_access == Access.NONE


def test_grant_portal_access_is_refused_where_the_agreement_does_not_allow_it(tree, api_for):
    tree.msp_b1.portal_access = Access.WITHDRAWN
    tree.msp_b1.save(update_fields=["portal_access"])
    response = api_for(tree.dist_b).post(
        f"/organisations/{tree.msp_b1.pk}/portal-access", {"email": "x@example.test"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "not_allowed_by_agreement"


def test_grant_portal_access_twice_is_a_conflict(tree, api_for):
    response = api_for(tree.dist_a).post(f"/organisations/{tree.msp_a1.pk}/portal-access", {})
    assert response.status_code == 409


def test_withdraw_portal_access(tree, api_for):
    api = api_for(tree.dist_a)
    response = api.delete(f"/organisations/{tree.msp_a1.pk}/portal-access")
    assert response.status_code == 200
    assert response.json()["portal_access"] == "withdrawn"
    tree.msp_a1.refresh_from_db()
    assert tree.msp_a1.portal_access == Access.WITHDRAWN
    assert api.delete(f"/organisations/{tree.msp_a1.pk}/portal-access").status_code == 409


def test_an_msp_cannot_withdraw_its_own_access(tree, api_for):
    response = api_for(tree.msp_a1).delete(f"/organisations/{tree.msp_a1.pk}/portal-access")
    assert response.status_code == 403
    tree.msp_a1.refresh_from_db()
    assert tree.msp_a1.portal_access == Access.ACTIVE


def test_new_distributor_by_the_vendor(tree, api_for, mailoutbox, django_capture_on_commit_callbacks):
    body = {
        "name": "Eastern Supply",
        "region": "NA",
        "admin_email": "east@example.test",
        "may_invite_msps": True,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(tree.vendor).post(f"/organisations/{tree.vendor.pk}/distributors", body)
    assert response.status_code == 201
    data = response.json()
    assert (data["organisation"]["kind"], data["organisation"]["region"]) == ("distributor", "NA")
    assert data["organisation"]["agreement"]["may_invite_msps"] is True
    assert data["invitation"]["email"] == "east@example.test"
    assert mailoutbox[0].to == ["east@example.test"]


def test_new_sub_distributor_needs_the_agreement(tree, api_for):
    body = {"name": "Sub", "region": "EMEA", "admin_email": "sub@example.test"}
    response = api_for(tree.dist_a).post(f"/organisations/{tree.dist_a.pk}/distributors", body)
    assert (response.status_code, response.json()["error"]) == (403, "not_allowed_by_agreement")
    tree.dist_a.may_create_subdistributors = True
    tree.dist_a.save(update_fields=["may_create_subdistributors"])
    body["may_provision_cloud"] = True
    response = api_for(tree.dist_a).post(f"/organisations/{tree.dist_a.pk}/distributors", body)
    assert response.status_code == 201
    # No more than the parent's own agreement allows.
    assert response.json()["organisation"]["agreement"]["may_provision_cloud"] is False
    assert response.json()["organisation"]["kind_label"] == "Sub-distributor"


def test_new_distributor_for_an_address_with_a_login_is_created_as_for_any(tree, api_for):
    body = {"name": "Eastern Supply", "region": "NA", "admin_email": "dist-a@example.test"}
    response = api_for(tree.vendor).post(f"/organisations/{tree.vendor.pk}/distributors", body)
    assert response.status_code == 201
    assert Organisation.objects.filter(name="Eastern Supply").exists()


def test_the_vendor_sets_an_agreement(tree, api_for):
    body = {
        "may_invite_msps": True,
        "may_provision_cloud": True,
        "may_create_subdistributors": False,
        "region": "APAC-N",
    }
    response = api_for(tree.vendor).put(f"/organisations/{tree.dist_b.pk}/agreement", body)
    assert response.status_code == 200
    tree.dist_b.refresh_from_db()
    assert (tree.dist_b.may_invite_msps, tree.dist_b.may_provision_cloud, tree.dist_b.region) == (
        True,
        True,
        "APAC-N",
    )
    assert AuditEntry.objects.get(action="organisation.set_agreement").changes["region"] == ["APAC", "APAC-N"]


def test_a_distributor_cannot_set_its_own_agreement(tree, api_for):
    body = {
        "may_invite_msps": True,
        "may_provision_cloud": True,
        "may_create_subdistributors": True,
        "region": "X",
    }
    response = api_for(tree.dist_b).put(f"/organisations/{tree.dist_b.pk}/agreement", body)
    assert response.status_code == 403
    tree.dist_b.refresh_from_db()
    assert not tree.dist_b.may_invite_msps
    missing = api_for(tree.vendor).put(f"/organisations/{tree.dist_b.pk}/agreement", {"region": "X"})
    assert (missing.status_code, missing.json()["field"]) == (422, "may_invite_msps")


def test_resend_a_pending_invitation(tree, api_for, mailoutbox, django_capture_on_commit_callbacks):
    api = api_for(tree.dist_a)
    with django_capture_on_commit_callbacks(execute=True):
        invited = api.post(
            f"/organisations/{tree.dist_a.pk}/invitations",
            {"email": "o@echo.test", "name": "O", "company": "Echo IT"},
        )
        msp_id = invited.json()["organisation"]["id"]
        response = api.post(f"/organisations/{msp_id}/invitation/resend")
    assert response.status_code == 201
    assert response.json()["email"] == "o@echo.test"
    assert [m.to for m in mailoutbox] == [["o@echo.test"], ["o@echo.test"]]
    assert Invitation.objects.filter(organisation_id=msp_id, revoked_at__isnull=True).count() == 1
    assert api.post(f"/organisations/{tree.msp_a1.pk}/invitation/resend").status_code == 409
    own = api_for(tree.msp_a1).post(f"/organisations/{tree.msp_a1.pk}/invitation/resend")
    assert own.status_code == 403
