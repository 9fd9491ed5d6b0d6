"""The natural sort key: ordering by it is ordering by a natural comparison of the names."""

import re
from functools import cmp_to_key

from hypothesis import given
from hypothesis import strategies as st

from keyledger.organisations.naming import NUMBER_WIDTH, natural_sort_key


def _tokens(name: str) -> list[int | str]:
    # The reference: a name is a sequence of characters and whole numbers (runs of ASCII digits).
    folded = " ".join(name.split()).casefold()
    return [
        int(part) if part.isascii() and part.isdigit() else part for part in re.findall(r"[0-9]+|.", folded)
    ]


def _compare_tokens(a: int | str, b: int | str) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return (a > b) - (a < b)
    # A number against a character sits where the digits sit among the characters.
    a = "0" if isinstance(a, int) else a
    b = "0" if isinstance(b, int) else b
    return (a > b) - (a < b)


def natural_compare(x: str, y: str) -> int:
    for a, b in zip(_tokens(x), _tokens(y), strict=False):
        if result := _compare_tokens(a, b):
            return result
    return (len(_tokens(x)) > len(_tokens(y))) - (len(_tokens(x)) < len(_tokens(y)))


def _key_compare(x: str, y: str) -> int:
    kx, ky = natural_sort_key(x), natural_sort_key(y)
    return (kx > ky) - (kx < ky)


# Short names of letters, spaces, punctuation, accented letters and numbers of up to 12 digits.
_numbers = st.integers(min_value=0, max_value=10**NUMBER_WIDTH - 1).map(str)
_zero_padded = st.tuples(st.integers(0, 3), st.integers(0, 10**6)).map(lambda t: "0" * t[0] + str(t[1]))
_text = st.text(alphabet=st.sampled_from("aAbBzZ éÉßſ-_.()ÅåΣσς"), min_size=1, max_size=4)
# Each number is followed by text, so two numbers never join into a run longer than 12 digits.
_parts = st.tuples(st.one_of(st.just(""), _numbers, _zero_padded), _text).map("".join)
names = st.lists(_parts, max_size=5).map("".join)


@given(names, names)
def test_the_key_orders_two_names_as_the_natural_comparison_does(x, y):
    assert _key_compare(x, y) == natural_compare(x, y)


@given(st.lists(names, max_size=12))
def test_sorting_by_the_key_is_sorting_naturally(values):
    by_key = [natural_sort_key(v) for v in sorted(values, key=natural_sort_key)]
    by_reference = [natural_sort_key(v) for v in sorted(values, key=cmp_to_key(natural_compare))]
    assert by_key == by_reference


def test_examples():
    ordered = sorted(
        ["MSP 10", "msp 2", "MSP 1", "alpha", "Beta", "Alpha 3", "MSP 02a"], key=natural_sort_key
    )
    assert ordered == ["alpha", "Alpha 3", "Beta", "MSP 1", "msp 2", "MSP 02a", "MSP 10"]
    assert natural_sort_key("Alpha") == natural_sort_key("alpha")
    assert natural_sort_key("  Alpha   Dental ") == natural_sort_key("alpha dental")
    assert natural_sort_key("x" * 300) == "x" * 255
