from typing import Annotated

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from pydantic import AfterValidator, StringConstraints


def no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refused here it is a field error, not a 500.
    if "\x00" in value:
        raise ValueError("Null characters are not allowed.")
    return value


def _email(value: str) -> str:
    value = value.strip()
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("Enter a valid email address.") from None
    return value


NoNul = AfterValidator(no_nul)
# Each fits the database column it is written to.
Name = Annotated[str, StringConstraints(max_length=200), NoNul]  # organisations, accounts, sites, people
Place = Annotated[str, StringConstraints(max_length=100), NoNul]  # city, state, country, region
PostalCode = Annotated[str, StringConstraints(max_length=20), NoNul]
LongText = Annotated[str, NoNul]  # addresses and notes
Email = Annotated[str, StringConstraints(max_length=254), NoNul, AfterValidator(_email)]
