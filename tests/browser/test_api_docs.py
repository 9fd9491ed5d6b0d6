"""The interactive API reference works in a browser under the portal's strict CSP."""


def test_the_api_reference_renders_every_area(db, page):
    page.goto("/api/v1/docs")
    for tag in ("Organisations", "Accounts and sites", "Product keys", "Call home"):
        page.get_by_role("heading", name=tag).first.wait_for()
    assert page.get_by_text("/api/v1/keys/{key_id}/deactivate").count() == 1
