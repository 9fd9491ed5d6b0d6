"""The password reset email. Sent after the transaction commits, so a rolled-back request
mails nothing."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from keyledger.organisations.models import User


def password_reset_url(*, user: User, token: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return settings.SITE_URL + reverse(
        "portal:password_reset_confirm", kwargs={"uidb64": uid, "token": token}
    )


def send_password_reset(*, user: User, token: str) -> None:
    context = {
        "user": user,
        "url": password_reset_url(user=user, token=token),
        "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
    }
    subject = render_to_string("security/email/password_reset_subject.txt", context).strip()
    body = render_to_string("security/email/password_reset.txt", context)
    recipient = user.email
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient], fail_silently=False)
    )
