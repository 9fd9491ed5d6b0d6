"""axe-core on every document a browser test shows.

Each page load, each htmx swap and each dialog opened or closed is checked as it happens, in
Playwright's own greenlet for event callbacks (the sync API runs those beside the test, so a
call that blocks there does not block the test), and the final page once more when the test
ends. A page the test left before its check finished is fetched again at the end and checked
then. Serious and critical violations of the WCAG 2.0/2.1 A and AA rules fail the test.

The script is evaluated through the DevTools protocol, which the page's CSP does not govern:
the portal's policy stays as strict in the tests as in production.
"""

import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Error, Page

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# KEYLEDGER_AXE_IMPACTS=minor,moderate,serious,critical shows the lesser ones too.
FAILING_IMPACTS = set(os.environ.get("KEYLEDGER_AXE_IMPACTS", "serious,critical").split(","))


@dataclass(frozen=True)
class Known:
    """A violation that is someone else's to fix: listed in axe-known.txt, not failed on."""

    rule: str
    path: str  # a regular expression for the page's path
    target: str  # a regular expression for the element's selector
    why: str

    def covers(self, rule: str, path: str, target: str) -> bool:
        return rule == self.rule and bool(re.search(self.path, path)) and bool(re.search(self.target, target))


# An entry goes once its pages are fixed: from then on the tests guard them.
KNOWN = (Known("nested-interactive", r"^/api/v1/docs", r"", "django-ninja's Swagger UI: its own markup"),)
RUN = """options => axe.run(document, options).then(results => results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")),
})))"""
# The page tells the test of a swap or a dialog through a binding; a short pause lets
# htmx settle and several swaps of one click be checked once.
WATCH = """(() => {
  let timer = null;
  const changed = () => { clearTimeout(timer); timer = setTimeout(() => window.__keyledgerAxeChanged(), 100); };
  document.addEventListener("htmx:afterSettle", changed);
  document.addEventListener("toggle", (event) => { if (event.target.tagName === "DIALOG") changed(); }, true);
  document.addEventListener("close", (event) => { if (event.target.tagName === "DIALOG") changed(); }, true);
})();"""


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class AxeWatch:
    """Checks a page's documents with axe as the test goes, and reports what it found."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.checked: set[str] = set()
        self.missed: set[str] = set()
        self.violations: list[str] = []
        self.known: set[str] = set()
        self.running = False
        self.again = False
        self.closing = False
        page.context.expose_binding("__keyledgerAxeChanged", lambda source: self.check())
        page.context.add_init_script(script=WATCH)
        page.on("load", lambda _page: self.check())

    def check(self) -> None:
        if self.closing:
            return
        if self.running:  # one run at a time in a page: run again when this one ends
            self.again = True
            return
        self.running = True
        try:
            self.again = True
            while self.again:
                self.again = False
                self._run_once()
        finally:
            self.running = False

    def _run_once(self) -> None:
        url = self.page.url
        if not url.startswith("http"):
            return
        try:
            if not self.page.evaluate("() => typeof window.axe === 'object'"):
                self.page.evaluate(AXE_SCRIPT)
            found = self.page.evaluate(RUN, {"runOnly": {"type": "tag", "values": TAGS}})
        except Error:
            # The test moved on (a navigation, or the end): check this address again later.
            if path_of(url) not in self.checked:
                self.missed.add(url)
            return
        if path_of(self.page.url) != path_of(url):
            self.missed.add(url)
            return
        self.checked.add(path_of(url))
        self.missed.discard(url)
        path = path_of(url)
        for violation in found:
            if violation["impact"] not in FAILING_IMPACTS:
                continue
            rule = violation["id"]
            targets = [t for t in violation["targets"] if not any(k.covers(rule, path, t) for k in KNOWN)]
            self.known.update(
                f"{rule}: {k.why}" for t in violation["targets"] for k in KNOWN if k.covers(rule, path, t)
            )
            if targets:
                message = (
                    f"{path}: {rule} ({violation['impact']}): {violation['help']} — {'; '.join(targets[:8])}"
                )
                if message not in self.violations:
                    self.violations.append(message)

    def finish(self) -> None:
        """Checks the final page, then the pages left before their check ended."""
        for _ in range(200):  # a check under way in an event callback ends first
            if not self.running:
                break
            self.page.wait_for_timeout(50)
        self.closing = True  # from here on the checks run here, one after the other
        self._run_once()
        for url in sorted(self.missed):
            if path_of(url) in self.checked:
                continue
            try:
                self.page.goto(url)
            except Error:
                continue
            self._run_once()

    def record(self, artifacts: Path) -> None:
        """Adds the paths checked to the list of every page the browser tests checked, and
        the known violations seen to theirs."""
        artifacts.mkdir(parents=True, exist_ok=True)
        for name, lines in (("axe-pages.txt", self.checked), ("axe-known.txt", self.known)):
            # The test workers of one run add to the same lists: one at a time.
            with open(artifacts / name, "a+") as listing:
                fcntl.flock(listing, fcntl.LOCK_EX)
                listing.seek(0)
                before = set(listing.read().split("\n"))
                listing.seek(0)
                listing.truncate()
                listing.write("\n".join(sorted((before | lines) - {""})) + "\n")
