"""The product key format (SPEC §6): 24 random Crockford base32 symbols and one check symbol,
shown as XXXXX-XXXXX-XXXXX-XXXXX-XXXXX. A mistyped key is told apart from an unknown one
without asking the database."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 24
LENGTH = BODY_LENGTH + 1
GROUP = 5
FORMATTED_LENGTH = LENGTH + LENGTH // GROUP - 1  # 29

# Read as the symbol a person most likely meant (Crockford's decoding rules).
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", "- \t")
_SYMBOLS = frozenset(ALPHABET)


class KeyFormatError(ValueError):
    class Reason(StrEnum):
        LENGTH = "length"
        SYMBOL = "symbol"
        CHECK = "check"

    MESSAGES = {
        Reason.LENGTH: f"A product key has {LENGTH} symbols.",
        Reason.SYMBOL: "A product key uses only the digits 0-9 and the letters A-Z except I, L, O and U.",
        Reason.CHECK: "The last symbol does not match: the key was mistyped.",
    }

    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        super().__init__(self.MESSAGES[reason])


def check_symbol(body: str) -> str:
    return ALPHABET[hashlib.sha256(body.encode("ascii")).digest()[0] >> 3]


def generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return format_key(body + check_symbol(body))


def format_key(symbols: str) -> str:
    return "-".join(symbols[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(text: str) -> str:
    """The canonical formatted key for what a person typed, or KeyFormatError saying why not."""
    symbols = text.translate(_IGNORED)
    if len(symbols) != LENGTH:
        raise KeyFormatError(KeyFormatError.Reason.LENGTH)
    # ASCII first: str.upper() maps a few other letters onto A-Z (the long s becomes "S").
    if not symbols.isascii():
        raise KeyFormatError(KeyFormatError.Reason.SYMBOL)
    symbols = symbols.upper().translate(_LOOKALIKES)
    if not _SYMBOLS.issuperset(symbols):
        raise KeyFormatError(KeyFormatError.Reason.SYMBOL)
    if check_symbol(symbols[:BODY_LENGTH]) != symbols[BODY_LENGTH]:
        raise KeyFormatError(KeyFormatError.Reason.CHECK)
    return format_key(symbols)


def is_valid(text: str) -> bool:
    try:
        normalise(text)
    except KeyFormatError:
        return False
    return True
