from keyledger.keys.models import Product
from tests.keys.factories import source


def test_vendor_staff_edit_the_catalog_in_the_admin(tree, client):
    tree.vendor_admin.is_superuser = True
    tree.vendor_admin.save(update_fields=["is_superuser"])
    client.force_login(tree.vendor_admin)
    listing = client.get("/admin/keys/product/")
    assert listing.status_code == 200
    assert b"StorageCraft ImageManager" in listing.content
    gre = Product.objects.get(code="gre")
    page = client.get(f"/admin/keys/product/{gre.pk}/change/")
    assert page.status_code == 200 and b"Exchange Server Name" in page.content
    assert b'name="code"' in page.content
    # Once keys exist, the code the products send is fixed.
    source(account=tree.account_a1, code="gre")
    assert b'name="code"' not in client.get(f"/admin/keys/product/{gre.pk}/change/").content
