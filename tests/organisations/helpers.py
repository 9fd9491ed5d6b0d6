"""Small helpers for onboarding tests: an actor with an address, and the link out of an email."""

import re
from urllib.parse import urlsplit

from keyledger.audit.actor import Actor, Channel
from keyledger.organisations.models import User

IP = "203.0.113.7"
STRONG_PASSWORD = "Blue-harbour-lantern-42"
LINK = re.compile(r"https?://\S+/invitations/(?P<token>[A-Za-z0-9_-]+)/")


def actor_for(user: User | None, ip: str = IP, channel: str = Channel.WEB) -> Actor:
    return Actor(user=user, ip=ip, channel=channel)


def invitation_path(body: str) -> str:
    """The path of the single-use link in an invitation email."""
    match = LINK.search(body)
    assert match, f"no invitation link in: {body}"
    return urlsplit(match.group(0)).path
