"""The API tokens page in Chromium: create (the secret shown once, Copy), revoke in the dialog."""

from keyledger.api.models import ApiToken
from tests.api.conftest import ApiClient
from tests.browser.conftest import sign_in


def test_create_copy_and_revoke_a_token(tree, page):
    sign_in(page, tree.dist_a_admin.email)
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("PSA integration")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Create token").click()

    secret_field = page.get_by_label("The new API token")
    secret = secret_field.input_value()
    token = ApiToken.objects.get(name="PSA integration")
    assert secret.startswith(token.prefix + "_")
    assert token.scope == ApiToken.Scope.READ_WRITE
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert ApiClient(secret).get("/organisations").status_code == 200

    # Reloading the list never shows the secret again.
    page.get_by_role("link", name="API tokens").click()
    assert secret not in page.content()
    assert token.prefix in page.content()

    page.get_by_role("link", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Revoke").click()
    page.get_by_text("is revoked").wait_for()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiClient(secret).get("/organisations").status_code == 401
