"""Emails of onboarding. They are sent after the transaction commits, so a rolled-back
action never mails a link to something that does not exist."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from keyledger.organisations.models import Invitation


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("portal:invitation", kwargs={"token": token})


def send_invitation(*, invitation: Invitation, token: str) -> None:
    context = {
        "invitation": invitation,
        "url": invitation_url(token),
        "organisation": invitation.organisation,
    }
    subject = render_to_string("organisations/email/invitation_subject.txt", context).strip()
    body = render_to_string("organisations/email/invitation.txt", context)
    recipient = invitation.email
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient], fail_silently=False)
    )


def send_login_exists(*, invitation: Invitation) -> None:
    """Sent instead of a link when the invited address already has a login: it says why the
    invitation cannot be used, and nothing of where that login is."""
    context = {
        "invitation": invitation,
        "organisation": invitation.organisation,
        "sign_in_url": sign_in_url(),
    }
    subject = render_to_string("organisations/email/login_exists_subject.txt", context).strip()
    body = render_to_string("organisations/email/login_exists.txt", context)
    recipient = invitation.email
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient], fail_silently=False)
    )


def sign_in_url() -> str:
    return settings.SITE_URL + reverse("portal:login")
