"""How a change's author is named to the person reading about it.

A viewer knows the people of its own organisation and of those below it by email. Someone
of an organisation above the viewer's (its distributor, the vendor) is not the viewer's to
know: only that organisation's name is shown, and nothing that would single the person out
(user id, token id, IP address). The key history, the audit log page and the API all ask here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyledger.organisations.models import Organisation, User


def is_from_above(actor_user: User | None, viewer: Organisation) -> bool:
    """The author belongs to an organisation outside the viewer's subtree."""
    return actor_user is not None and not actor_user.organisation.is_within(viewer)


def actor_name(*, actor_user: User | None, label: str, viewer: Organisation) -> str:
    """The author's name for this viewer: `label` (email, token prefix, channel) or, for someone
    from above, their organisation's name. `actor_user.organisation` should be selected with it."""
    if is_from_above(actor_user, viewer):
        return actor_user.organisation.name
    return label
