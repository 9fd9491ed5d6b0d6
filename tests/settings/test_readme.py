"""The README is the operator's manual: it names every variable the settings read and every
command Keyledger adds."""

import re
from pathlib import Path

import keyledger.settings as settings_module
from keyledger.cli import keyledger_commands

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_environment_variable_is_documented():
    source = Path(settings_module.__file__).read_text()
    names = set(re.findall(r"env_(?:str|bool|int|list)\(\s*\"([A-Z0-9_]+)\"", source))
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "EMAIL_HOST"} <= names
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)`(?:, `([A-Z0-9_]+)`)?", README, re.MULTILINE))
    documented = {name for pair in documented for name in pair if name}
    assert names - documented == set()


def test_every_keyledger_command_is_documented():
    for name in keyledger_commands():
        assert f"| `keyledger {name}" in README, name
