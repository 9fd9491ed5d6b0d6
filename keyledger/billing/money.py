"""Money: ISO 4217 currencies and their minor units (from the CLDR data Babel ships),
amounts kept as whole minor units and shown as Decimal, rounded half-up at the line."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel.core import get_global
from babel.numbers import get_currency_name, get_currency_precision, get_territory_currencies
from django.core.exceptions import ValidationError

CODE_RE = re.compile(r"^[A-Z]{3}$")
PRICE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
# A price larger than this is a typing error, not a price (and stays inside a 64-bit column
# whatever the quantity).
MAX_MINOR = 10**12


@cache
def currencies() -> frozenset[str]:
    """The currencies that are legal tender somewhere today (no funds, metals or test codes)."""
    today = date.today()
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, today, tender=True))
    return frozenset(codes)


def clean_currency(code: str) -> str:
    code = (code or "").strip().upper()
    if not CODE_RE.match(code) or code not in currencies():
        raise ValidationError({"currency": "Enter an ISO 4217 currency code, e.g. EUR, USD or AUD."})
    return code


def minor_digits(currency: str) -> int:
    """Digits after the decimal point: EUR 2, JPY 0, KWD 3."""
    return get_currency_precision(currency)


def currency_name(currency: str) -> str:
    return get_currency_name(currency, locale="en")


def to_minor(amount: Decimal, currency: str) -> int:
    """A Decimal amount, rounded half-up to the currency's minor unit, as whole minor units."""
    digits = minor_digits(currency)
    rounded = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return int(rounded.scaleb(digits))


def to_decimal(minor: int, currency: str) -> Decimal:
    """Whole minor units as a Decimal with the currency's digits: 1250 EUR → Decimal('12.50')."""
    digits = minor_digits(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def round_line(amount: Decimal, currency: str) -> Decimal:
    """A line's amount rounded half-up to the currency's minor unit."""
    return to_decimal(to_minor(amount, currency), currency)


def parse_price(text: str, currency: str, *, field: str = "price") -> int:
    """A price typed by a person, in minor units. Refused: not a number, negative, more
    decimals than the currency has, absurdly large."""
    raw = (str(text) if text is not None else "").strip().replace(",", "")
    if raw.startswith("-"):
        raise ValidationError({field: "A price cannot be negative."})
    if not PRICE_RE.match(raw):
        raise ValidationError({field: "Enter a price as a number, e.g. 12.50."})
    digits = minor_digits(currency)
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    if decimals > digits:
        allowed = "no decimals" if digits == 0 else f"at most {digits} decimal{'s' if digits > 1 else ''}"
        raise ValidationError({field: f"{currency} prices have {allowed}."})
    try:
        minor = int(Decimal(raw).scaleb(digits))
    except InvalidOperation:
        raise ValidationError({field: "Enter a price as a number, e.g. 12.50."}) from None
    if minor > MAX_MINOR:
        raise ValidationError({field: "This price is too large."})
    return minor


def format_plain(minor: int | None, currency: str) -> str:
    """For CSV and the API: '1234.50', '' when there is no amount."""
    if minor is None or not currency:
        return ""
    return str(to_decimal(minor, currency))


def format_display(minor: int | None, currency: str) -> str:
    """For pages: '1,234.50 EUR', '' when there is no amount."""
    if minor is None or not currency:
        return ""
    return f"{to_decimal(minor, currency):,} {currency}"
