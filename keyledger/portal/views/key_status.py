"""How a key's status looks in the portal: its badge's colour, mark and labels.

Colour points at trouble: Critical is the alarm (filled red), a request waiting for the next
call home is amber, OK green, and keys that do not run (Deactivated, Not activated) are a
quiet grey. Colour is never the only signal (WCAG 1.4.1): each status has its own mark,
hidden from screen readers, and its words. Key tables show the short label, with the full
one in the tooltip; Activation Details shows the full label.
"""

from __future__ import annotations

from dataclasses import dataclass

from keyledger.keys.models import ProductKey

State = ProductKey.State


@dataclass(frozen=True)
class StatusBadge:
    state: str
    css: str  # the badge's class in keys.css
    mark: str  # aria-hidden: the words carry the meaning
    short: str

    @property
    def label(self) -> str:
        """The full label of SPEC §6 (e.g. "Deactivation requested \u2013 still active")."""
        return State(self.state).label


STATUS_BADGES: dict[str, StatusBadge] = {
    b.state: b
    for b in (
        StatusBadge(State.CRITICAL, "status-critical", "\u26a0", "Critical"),
        StatusBadge(State.DEACTIVATION_REQUESTED, "status-pending", "\u25d4", "Deactivation requested"),
        StatusBadge(State.REACTIVATION_REQUESTED, "status-pending", "\u25d4", "Reactivation requested"),
        StatusBadge(State.OK, "status-ok", "\u2713", "OK"),
        StatusBadge(State.DEACTIVATED, "status-off", "\u2013", "Deactivated"),
        StatusBadge(State.UNUSED, "status-off", "\u25cb", "Not activated"),
    )
}

# The badge class of each state, for the pages that show a status with a label of their own
# (the Overview's tiles and lists).
BADGES: dict[str, str] = {state: badge.css for state, badge in STATUS_BADGES.items()}
