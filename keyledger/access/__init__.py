"""The one door to tenant data.

Every view, API endpoint and command that reads or changes tenant data fetches it
through these functions. A user reaches its own organisation and everything below
it; anything else is answered with Http404, exactly as if it did not exist.
Role limits (what a user of the right subtree may *do*) answer PermissionDenied.
"""

from keyledger.access.billing import (
    get_price_list_for_user,
    get_statement_for_user,
    price_lists_for_user,
    require_issuer,
    statements_for_user,
)
from keyledger.access.customers import (
    account_tree_for_user,
    accounts_for_user,
    get_account_for_user,
    get_site_for_user,
    msp_has_accounts,
    sites_for_user,
)
from keyledger.access.keys import get_key_for_user, keys_for_user, products
from keyledger.access.organisations import (
    audit_for_user,
    get_msp_for_user,
    get_organisation_for_user,
    msps_for_user,
    msps_with_counts_for_user,
    organisations_for_user,
    require,
    users_for_user,
)
from keyledger.access.tokens import get_token_for_user, tokens_for_user
from keyledger.access.users import get_user_for_user, invitations_for_user

__all__ = [
    "account_tree_for_user",
    "accounts_for_user",
    "audit_for_user",
    "get_account_for_user",
    "get_key_for_user",
    "get_msp_for_user",
    "get_organisation_for_user",
    "get_price_list_for_user",
    "get_site_for_user",
    "get_statement_for_user",
    "get_token_for_user",
    "get_user_for_user",
    "invitations_for_user",
    "keys_for_user",
    "msp_has_accounts",
    "msps_for_user",
    "msps_with_counts_for_user",
    "organisations_for_user",
    "price_lists_for_user",
    "products",
    "require",
    "require_issuer",
    "sites_for_user",
    "statements_for_user",
    "tokens_for_user",
    "users_for_user",
]
