"""Browser tests: Playwright driving Debian's Chromium against a live Keyledger server.

Every test's final page is saved as test-artifacts/browser/<test name>.png (git-ignored).
axe-core checks every document a test shows (tests/browser/axe.py); the paths it checked are
listed in test-artifacts/browser/axe-pages.txt.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from keyledger.testing.tree import PASSWORD
from tests.browser.axe import AxeWatch

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("KEYLEDGER_CHROMIUM", "/usr/bin/chromium")

# Playwright runs its own event loop in a thread; Django's ORM calls from the test body are fine.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set KEYLEDGER_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server, request) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if (r.status >= 400 and r.status != 404) or (r.status == 404 and "/static/" in r.url)
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    axe = AxeWatch(page)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        seen = len(errors)
        axe.finish()
        # A page fetched again for axe may answer otherwise the second time (a link used up).
        del errors[seen:]
        axe.record(ARTIFACTS)
    finally:
        context.close()
    # A CSP violation or a script error is a bug even when the test's clicks worked.
    assert not errors, f"Browser console errors: {errors}"
    if axe.violations:
        pytest.fail(
            "Accessibility (axe, WCAG 2.0/2.1 A and AA, serious or critical):\n" + "\n".join(axe.violations),
            pytrace=False,
        )


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    # Wait for the answer to the form, not for the page already loaded: a test that goes on
    # at once could have its next page replaced by the sign-in's redirect.
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.get_by_role("button", name="Sign in").click()
