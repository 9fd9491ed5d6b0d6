"""An invitation through a real SMTP server: the email leaves Django over the wire, and the
link it carries opens the account."""

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from keyledger.organisations import actions
from keyledger.organisations.models import Organisation, User
from tests.organisations.helpers import STRONG_PASSWORD, actor_for, invitation_path


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 10},
        }
    }
    yield inbox
    controller.stop()


def test_an_invitation_sent_over_smtp_opens_the_account(
    tree, smtp_server, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        msp, _, _ = actions.invite_msp(
            distributor=tree.dist_a,
            email="owner@falcon.test",
            name="Fay Falcon",
            company="Falcon",
            city="Leeds",
            state="",
            country="UK",
            postal_code="LS1",
            region="",
            actor=actor_for(tree.dist_a_admin),
        )
    assert len(smtp_server.messages) == 1
    recipients, raw = smtp_server.messages[0]
    assert recipients == ["owner@falcon.test"]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "Confirm your Keyledger portal account for Falcon"
    path = invitation_path(message.get_body(("plain",)).get_content())

    response = client.get(path)
    assert response.status_code == 200
    assert "Completing the invitation" in response.text
    response = client.post(
        path,
        {
            "company": "Falcon IT Ltd",
            "city": "Leeds",
            "state": "",
            "country": "UK",
            "postal_code": "LS1",
            "full_name": "Fay Falcon",
            "password": STRONG_PASSWORD,
            "password_again": STRONG_PASSWORD,
            "terms_version": tree.terms.pk,
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302, response.text
    user = User.objects.get(email="owner@falcon.test")
    assert user.organisation == msp
    msp.refresh_from_db()
    assert msp.name == "Falcon IT Ltd" and msp.portal_access == Organisation.PortalAccess.ACTIVE
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.get(path).status_code == 410  # single use
