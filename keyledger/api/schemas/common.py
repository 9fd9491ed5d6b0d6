"""The API's input types. Each one validates and states its rule in the OpenAPI document from
the same place, so that a client generated from the document sends what the API accepts."""

from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Path, Schema
from ninja.schema import DjangoGetter
from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from keyledger.keys import keyformat

# The largest integer a database id or offset holds (a signed 64-bit integer); above it,
# SQLite refuses the query outright ("datatype mismatch").
MAX_INT = 2**63 - 1
NO_NUL = "^[^\\u0000]*$"
# No NUL, and at least one character that is not white space (the actions strip text).
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refused here it is a field error, not a 500.
    if "\x00" in value:
        raise ValueError("Null characters are not allowed.")
    return value


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("This field cannot be blank.")
    return value


def _email(value: str) -> str:
    value = value.strip()
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("Enter a valid email address.") from None
    return value


class Stated:
    """Validate with `check` and state `schema` (e.g. a pattern or a format) in the document."""

    def __init__(self, check: Any, **schema: Any) -> None:
        self.check = check
        self.schema = schema

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(self.schema)
        return json_schema


NoNul = Stated(no_nul, pattern=NO_NUL)
NotBlank = Stated(lambda v: not_blank(no_nul(v)), pattern=NOT_BLANK)

# Each fits the database column it is written to.
Name = Annotated[str, StringConstraints(max_length=200), NoNul]  # organisations, accounts, sites, people
RequiredName = Annotated[str, StringConstraints(min_length=1, max_length=200), NotBlank]
Place = Annotated[str, StringConstraints(max_length=100), NoNul]  # city, state, country, region
RequiredPlace = Annotated[str, StringConstraints(min_length=1, max_length=100), NotBlank]
PostalCode = Annotated[str, StringConstraints(max_length=20), NoNul]
LongText = Annotated[str, NoNul]  # addresses and notes
RequiredText = Annotated[str, StringConstraints(min_length=1), NotBlank]
Email = Annotated[
    str, StringConstraints(min_length=3, max_length=254), Stated(_email, format="email", pattern=NO_NUL)
]
# What keyledger.keys.keyformat.normalise reads as a key: 25 symbols of its alphabet, either
# case, O, I and L read as 0, 1 and 1, dashes and blanks anywhere. The last symbol is a check
# that no pattern states; a key that fails it is refused naming the field.
_KEY_LETTERS = {*keyformat.ALPHABET, "O", "I", "L"}
_KEY_SYMBOLS = "".join(sorted(_KEY_LETTERS | {c.lower() for c in _KEY_LETTERS}))
_KEY_SEPARATORS = "[-\\t ]*"
KEY_PATTERN = f"^{_KEY_SEPARATORS}([{_KEY_SYMBOLS}]{_KEY_SEPARATORS}){{{keyformat.LENGTH}}}$"
ProductKeyText = Annotated[str, StringConstraints(max_length=200), Stated(no_nul, pattern=KEY_PATTERN)]

# Ids of objects and integer query parameters: anything larger cannot be stored.
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
Offset = Annotated[int, Field(ge=0, le=MAX_INT)]
PathId = Annotated[int, Path(ge=1, le=MAX_INT)]


def one_of_required(*names: str) -> dict[str, Any]:
    """The document's statement that a body needs at least one of these fields, not null
    (a rule across fields, which the action enforces naming the first field)."""
    return {
        "anyOf": [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in names]
    }


class BodyIn(Schema):
    """A request body: a JSON object. Anything else ("x", [null, null]) is refused as a whole,
    rather than read as an object without fields."""

    @model_validator(mode="before")
    @classmethod
    def _a_json_object(cls, data: Any) -> Any:
        # ninja's own validator has wrapped the parsed JSON already (ninja.schema.DjangoGetter).
        parsed = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(parsed, dict):
            raise ValueError("The body must be a JSON object.")
        return data
