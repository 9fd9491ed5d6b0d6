"""Read-only lookups that are not scoped to a user (the vendor root, the current Terms)."""

from keyledger.organisations.models import Invitation, Organisation, TermsVersion, User


def vendor_organisation() -> Organisation:
    return Organisation.objects.get(kind=Organisation.Kind.VENDOR, parent__isnull=True)


def current_terms() -> TermsVersion | None:
    return TermsVersion.objects.order_by("-version").first()


def must_accept_terms(user: User) -> bool:
    """Vendor staff keep the Terms; everyone else accepts the newest version before anything else."""
    if user.is_vendor_staff:
        return False
    terms = current_terms()
    return terms is not None and not terms.acceptances.filter(user=user).exists()


def latest_organisation_invitation(organisation: Organisation) -> Invitation | None:
    """The newest not-yet-accepted invitation that opens the organisation itself (its first
    login, or an invited MSP's), revoked or not: what a resend starts from."""
    return (
        organisation.invitations.filter(
            purpose__in=[Invitation.Purpose.FIRST_LOGIN, Invitation.Purpose.MSP_INVITE], used_at__isnull=True
        )
        .order_by("-created_at", "-id")
        .first()
    )
