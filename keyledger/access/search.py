"""The top bar's search: product keys (whole or by their first symbols), machine names, and
accounts, sites, MSPs and distributors by name, all within the user's own subtree.

Every lookup starts from the door's querysets (keys_for_user, accounts_for_user, …), so a
search never finds what the user could not open. Keys, the big table, are found through
indexes only: a whole key or a prefix of it is a range of the unique `key` column, a machine
name a range of the case-folded machine name index. Names live on the smaller tables of
accounts, sites and organisations and are matched anywhere in the name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.functions import Lower

from keyledger.access.customers import accounts_for_user, sites_for_user
from keyledger.access.keys import keys_for_user
from keyledger.access.organisations import organisations_for_user
from keyledger.keys.keyformat import ALPHABET, GROUP, LENGTH, KeyFormatError, normalise
from keyledger.keys.models import ProductKey
from keyledger.keys.textorder import LAST_CHARACTER, machine_name_order
from keyledger.organisations.models import Organisation, User
from keyledger.organisations.roles import Permission

MAX_LENGTH = 200  # the longest name an account, site or organisation may have
KEY_PREFIX_MIN = 5  # fewer symbols would match too many keys to be worth listing
LIMIT = 20

KEYS, ACCOUNTS, SITES, MSPS, DISTRIBUTORS = "keys", "accounts", "sites", "msps", "distributors"
KINDS = (KEYS, ACCOUNTS, SITES, MSPS, DISTRIBUTORS)

# What a listed key shows: its status as of now needs state and critical_due_at.
KEY_COLUMNS = (
    "key",
    "state",
    "critical_due_at",
    "machine_name",
    "product__tab_label",
    "msp__name",
    "account__name",
    "site__name",
)
# What keyformat.normalise forgives, for a key typed only in part: dashes and spaces anywhere,
# lower case, and O read as 0, I and L as 1.
_IGNORED = str.maketrans("", "", "- ")
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class SearchError(ValueError):
    """A query that cannot be searched for; its message says why, for the person who typed it."""


@dataclass(frozen=True)
class Query:
    text: str  # as typed, spaces collapsed
    key: str | None = None  # the whole key, formatted as stored
    key_prefix: str | None = None  # its first symbols, formatted as stored
    key_note: str | None = None  # why what looks like a key is not one


@dataclass
class Group:
    kind: str
    items: list[Any] = field(default_factory=list)
    more: bool = False  # there are more than the items listed


@dataclass
class Results:
    query: Query
    groups: dict[str, Group]

    @property
    def total(self) -> int:
        return sum(len(g.items) for g in self.groups.values())

    def only_match(self) -> tuple[str, Any] | None:
        """(kind, object) when exactly one thing was found."""
        found = [(g.kind, item) for g in self.groups.values() for item in g.items]
        if len(found) == 1 and not any(g.more for g in self.groups.values()):
            return found[0]
        return None


def parse(raw: str) -> Query:
    """What a person typed, as a Query, or SearchError."""
    text = " ".join(raw.split())  # tabs and line breaks of a pasted key are spaces
    if not text:
        raise SearchError("Type a Product Key, a machine name, or the name of an Account, Site or MSP.")
    if len(text) > MAX_LENGTH:
        raise SearchError(f"A search has at most {MAX_LENGTH} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise SearchError("A search cannot contain control characters.")
    symbols = _key_symbols(text)
    if symbols is None or len(symbols) < KEY_PREFIX_MIN or len(symbols) > LENGTH:
        return Query(text=text)
    if len(symbols) < LENGTH:
        return Query(text=text, key_prefix=_formatted(symbols))
    try:
        return Query(text=text, key=normalise(symbols))
    except KeyFormatError as error:
        return Query(text=text, key_note=str(error))


def search_for_user(user: User, query: Query, *, kinds: Iterable[str] = KINDS, limit: int = LIMIT) -> Results:
    """At most `limit` matches of each kind (and whether there are more), best first: one
    query per kind asked for, however many keys, accounts or sites there are."""
    kinds = set(kinds)
    if query.key is not None:
        # A whole key, check symbol and all, is no one's name: the key is all there is to find.
        kinds &= {KEYS}
    groups: dict[str, Group] = {}
    if KEYS in kinds:
        groups[KEYS] = _keys(user, query, limit)
    if ACCOUNTS in kinds:
        accounts = accounts_for_user(user).select_related("msp").only("name", "msp__name")
        groups[ACCOUNTS] = _group(ACCOUNTS, _by_name(accounts, query.text), limit)
    if SITES in kinds:
        sites = (
            sites_for_user(user)
            .select_related("account__msp")
            .only("name", "account__name", "account__msp__name")
        )
        groups[SITES] = _group(SITES, _by_name(sites, query.text), limit)
    for kind, org_kind in _organisation_kinds(user).items():
        if kind in kinds:
            orgs = organisations_for_user(user).filter(kind=org_kind).select_related("parent")
            orgs = orgs.only("name", "kind", "parent__name")
            groups[kind] = _group(kind, _by_name(orgs, query.text), limit)
    return Results(query=query, groups={k: groups[k] for k in KINDS if k in groups})


def _key_symbols(text: str) -> str | None:
    """The key symbols of the text, or None when it cannot be (a part of) a key."""
    symbols = text.translate(_IGNORED)
    if not symbols.isascii():
        return None
    symbols = symbols.upper().translate(_LOOKALIKES)
    return symbols if set(symbols) <= set(ALPHABET) else None


def _formatted(symbols: str) -> str:
    """Symbols as the stored key spells them: dashes between the groups of five."""
    return "-".join(symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP))


def _after(symbols: str) -> str | None:
    """The smallest run of symbols greater than every key that starts with `symbols` (None:
    no such bound). It stays within the alphabet, so the range holds under any collation:
    digits sort before letters and the dashes stand at the same places in every key."""
    while symbols:
        position = ALPHABET.index(symbols[-1]) + 1
        if position < len(ALPHABET):
            return symbols[:-1] + ALPHABET[position]
        symbols = symbols[:-1]
    return None


def _keys(user: User, query: Query, limit: int) -> Group:
    keys = keys_for_user(user).select_related("product", "msp", "account", "site").only(*KEY_COLUMNS)
    if query.key is not None:
        return _group(KEYS, keys.filter(key=query.key).order_by(), limit)
    by_key: list[ProductKey] = []
    if query.key_prefix is not None:
        symbols = query.key_prefix.replace("-", "")
        in_range = keys.filter(key__gte=query.key_prefix)
        if (upper := _after(symbols)) is not None:
            in_range = in_range.filter(key__lt=_formatted(upper))
        by_key = list(in_range.order_by("key")[: limit + 1])
    # In the index's order a name equal to the text comes before the longer ones it starts:
    # the exact match ranks first without sorting the whole range.
    lower, upper_name = Lower(Value(query.text)), Lower(Value(query.text + LAST_CHARACTER))
    named = keys.filter(machine_name__isnull=False)  # what the partial indexes hold
    if user.organisation.kind == Organisation.Kind.MSP:
        # Only its own keys, through the (msp, machine name) index: a short prefix that
        # thousands of other tenants' machines share costs an MSP nothing.
        named = named.filter(msp_id=user.organisation_id)
    by_machine = list(
        named.alias(machine=machine_name_order())
        .filter(machine__gte=lower, machine__lt=upper_name)
        .order_by("machine", "pk")[: limit + 1]
    )
    seen = {k.pk for k in by_key}
    return _group(KEYS, by_key + [k for k in by_machine if k.pk not in seen], limit)


def _by_name(rows: QuerySet, text: str) -> QuerySet:
    """Rows whose name contains the text, ignoring case: the name itself first, then names
    that start with it, then the others, each by name."""
    rank = Case(
        When(lower_name=Lower(Value(text)), then=Value(0)),
        When(name__istartswith=text, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        rows.alias(lower_name=Lower("name")).filter(name__icontains=text).order_by(rank, "lower_name", "pk")
    )


def _organisation_kinds(user: User) -> dict[str, str]:
    """The kinds of organisation the user finds by name. A distributor is found only by who
    may open its page (the MSPs tab), and so never by an MSP."""
    kinds = {MSPS: Organisation.Kind.MSP}
    if user.organisation.kind != Organisation.Kind.MSP and user.can(Permission.MANAGE_ORGANISATIONS):
        kinds[DISTRIBUTORS] = Organisation.Kind.DISTRIBUTOR
    return kinds


def _group(kind: str, rows: Iterable[Any], limit: int) -> Group:
    rows = list(rows[: limit + 1] if isinstance(rows, QuerySet) else rows)
    return Group(kind=kind, items=rows[:limit], more=len(rows) > limit)
