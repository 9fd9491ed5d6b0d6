"""Every change to organisations, users, invitations and Terms acceptance.

Each action is keyword-only, atomic, checks the rules of the channel (agreement
flags, kinds of parent) and writes its audit row. Access (is this organisation in
the actor's subtree? may the role do this?) is checked by the caller through
keyledger.access before it calls an action.
"""

from keyledger.organisations.actions.invitations import (
    INVITATION_REFUSALS,
    accept_invitation,
    find_invitation,
    terms_required_for,
)
from keyledger.organisations.actions.onboarding import (
    create_distributor,
    create_msp,
    create_vendor,
    invite_msp,
    set_agreement,
)
from keyledger.organisations.actions.portal_access import (
    grant_portal_access,
    resend_invitation,
    revoke_invitation,
    withdraw_portal_access,
)
from keyledger.organisations.actions.terms import publish_terms, record_terms_acceptance
from keyledger.organisations.actions.users import (
    adopt_browser_time_zone,
    change_role,
    deactivate_user,
    invite_user,
    reactivate_user,
    set_time_zone,
)

__all__ = [
    "INVITATION_REFUSALS",
    "accept_invitation",
    "adopt_browser_time_zone",
    "change_role",
    "create_distributor",
    "create_msp",
    "create_vendor",
    "deactivate_user",
    "find_invitation",
    "grant_portal_access",
    "invite_msp",
    "invite_user",
    "publish_terms",
    "reactivate_user",
    "record_terms_acceptance",
    "resend_invitation",
    "revoke_invitation",
    "set_agreement",
    "set_time_zone",
    "terms_required_for",
    "withdraw_portal_access",
]
