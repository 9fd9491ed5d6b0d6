import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyledger.keys import keyformat
from keyledger.keys.keyformat import ALPHABET, KeyFormatError

FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$")
bodies = st.text(alphabet=ALPHABET, min_size=24, max_size=24)


def test_alphabet_is_crockford_base32():
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert len(set(ALPHABET)) == 32


def test_check_symbol_is_the_top_five_bits_of_sha256():
    body = "ABCDEFGHJKMNPQRSTVWXYZ01"
    assert keyformat.check_symbol(body) == ALPHABET[hashlib.sha256(body.encode()).digest()[0] >> 3]


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        # Fixed vectors: products in the field check keys offline with this very rule.
        ("000000000000000000000000", "00000-00000-00000-00000-00003"),
        ("abcdefghjkmnpqrstvwxyz01", "ABCDE-FGHJK-MNPQR-STVWX-YZ01A"),
        ("ooooo ooooo ooooo ooooo oooo", "00000-00000-00000-00000-00003"),
    ],
)
def test_known_keys_and_their_check_symbols(typed, key):
    assert keyformat.normalise(typed + key[-1]) == key


def test_generated_keys_come_from_the_cryptographic_source(monkeypatch):
    drawn: list[str] = []

    def choice(alphabet: str) -> str:
        drawn.append(alphabet)
        return "Z"

    monkeypatch.setattr(keyformat.secrets, "choice", choice)
    assert keyformat.generate() == "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZ" + keyformat.check_symbol("Z" * 24)
    assert drawn == [ALPHABET] * 24


def test_generated_keys_have_the_format_and_pass_their_check():
    keys = {keyformat.generate() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert len(key) == 29 and FORMAT.match(key)
        assert keyformat.normalise(key) == key
        symbols = key.replace("-", "")
        assert keyformat.check_symbol(symbols[:24]) == symbols[24]


def test_generated_keys_use_every_symbol():
    seen = set("".join(keyformat.generate() for _ in range(100)).replace("-", ""))
    assert seen == set(ALPHABET)


@given(bodies)
def test_any_body_with_its_check_symbol_round_trips(body):
    key = keyformat.format_key(body + keyformat.check_symbol(body))
    assert FORMAT.match(key)
    assert keyformat.normalise(key) == key


@given(bodies, st.data())
def test_input_is_accepted_as_people_type_it(body, data):
    key = keyformat.format_key(body + keyformat.check_symbol(body))
    typed = []
    for symbol in key.replace("-", ""):
        choices = [symbol, symbol.lower()]
        if symbol == "0":
            choices += ["O", "o"]
        if symbol == "1":
            choices += ["I", "i", "L", "l"]
        typed.append(data.draw(st.sampled_from(choices)))
        typed.append(data.draw(st.sampled_from(["", "", " ", "-"])))
    assert keyformat.normalise("".join(typed)) == key


def test_almost_every_single_symbol_typo_is_caught_offline():
    # Five check bits: about 31 of 32 one-symbol typos are told apart from a real key.
    body = "7K3QZP9WX2MRT4VB8HC6YN1D"
    key = body + keyformat.check_symbol(body)
    caught = total = 0
    for position in range(24):
        for replacement in ALPHABET.replace(key[position], ""):
            total += 1
            typo = key[:position] + replacement + key[position + 1 :]
            caught += not keyformat.is_valid(typo)
    assert total == 24 * 31
    assert caught / total > 0.9


def test_a_mistyped_check_symbol_is_a_check_error():
    key = keyformat.generate()
    last = key[-1]
    wrong = ALPHABET[(ALPHABET.index(last) + 1) % 32]
    with pytest.raises(KeyFormatError) as exc:
        keyformat.normalise(key[:-1] + wrong)
    assert exc.value.reason == "check"


@given(st.text(alphabet=ALPHABET + "-", max_size=40).filter(lambda t: len(t.replace("-", "")) != 25))
def test_wrong_length_is_a_length_error(text):
    with pytest.raises(KeyFormatError) as exc:
        keyformat.normalise(text)
    assert exc.value.reason == KeyFormatError.Reason.LENGTH


@given(
    bodies,
    st.integers(min_value=0, max_value=24),
    st.sampled_from(["U", "*", "#", "!", "\u00e9", "_", "\u017f"]),
)
def test_a_symbol_outside_the_alphabet_is_a_symbol_error(body, position, bad):
    key = body + keyformat.check_symbol(body)
    with pytest.raises(KeyFormatError) as exc:
        keyformat.normalise(key[:position] + bad + key[position + 1 :])
    assert exc.value.reason == KeyFormatError.Reason.SYMBOL


def test_errors_say_what_is_wrong():
    assert "25" in str(KeyFormatError(KeyFormatError.Reason.LENGTH))
    assert "mistyped" in str(KeyFormatError(KeyFormatError.Reason.CHECK))
    assert not keyformat.is_valid("ABC") and keyformat.is_valid(keyformat.generate())
