"""What the QR code holds, and how typed codes are read."""

from base64 import b32decode
from urllib.parse import parse_qs, urlsplit

from django_otp.oath import TOTP

from keyledger.twofactor.actions import new_secret, secret_for_people
from keyledger.twofactor.devices import normalise_code, otpauth_uri


def test_the_qr_code_names_keyledger_and_holds_the_secret_shown_in_text():
    key = new_secret()
    uri = urlsplit(otpauth_uri("tess@acme.test", key))
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/Keyledger:tess@acme.test")
    params = {k: v[0] for k, v in parse_qs(uri.query).items()}
    assert params == {
        "secret": secret_for_people(key).replace(" ", ""),
        "issuer": "Keyledger",
        "algorithm": "SHA1",
        "digits": "6",
        "period": "30",
    }
    # The secret read back gives the app the same codes as the portal checks.
    assert TOTP(b32decode(params["secret"])).token() == TOTP(bytes.fromhex(key)).token()


def test_codes_are_read_as_people_type_them():
    assert normalise_code(" 123 456 ") == "123456"
    assert normalise_code("ABCD-EFGH") == "abcdefgh"
