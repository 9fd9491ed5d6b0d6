from django.urls import reverse


def staff_client(tree, client):
    tree.vendor_admin.is_superuser = True
    tree.vendor_admin.save(update_fields=["is_superuser"])
    client.force_login(tree.vendor_admin)
    return client


def test_vendor_staff_look_accounts_and_sites_up(tree, client):
    client = staff_client(tree, client)

    accounts = client.get(reverse("admin:customers_account_changelist"), {"q": "alpha"})
    sites = client.get(reverse("admin:customers_site_changelist"))

    assert accounts.status_code == 200
    assert "Alpha Dental" in accounts.content.decode()
    assert "Bravo Legal" not in accounts.content.decode()
    assert "Delta Freight Depot" in sites.content.decode()


def test_the_admin_changes_nothing(tree, client):
    client = staff_client(tree, client)
    change_url = reverse("admin:customers_account_change", args=[tree.account_a1.pk])

    assert client.get(reverse("admin:customers_account_add")).status_code == 403
    assert client.get(reverse("admin:customers_site_add")).status_code == 403
    client.post(change_url, {"name": "Renamed", "msp": tree.msp_a1.pk})
    delete = client.post(
        reverse("admin:customers_account_delete", args=[tree.account_a1.pk]), {"post": "yes"}
    )

    assert delete.status_code == 403
    tree.account_a1.refresh_from_db()
    assert tree.account_a1.name == "Alpha Dental"
