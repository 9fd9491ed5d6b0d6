"""The `keyledger` command: Django's management commands under Keyledger's name.

`keyledger serve` runs the production server (granian, keyledger/ops); `keyledger runserver`
(or its alias `keyledger devserver`) the development server. `keyledger help` lists
Keyledger's own commands first, then Django's.
"""

import os
import secrets
import sys
import textwrap

ALIASES = {"devserver": "runserver"}
ALIAS_HELP = {
    "devserver": "Run the development server (Django's runserver; e.g. `keyledger devserver 127.0.0.1:8000`)."
}
_HELP_WORDS = {"help", "--help", "-h"}
# Commands that only read the code (they serve nothing, sign nothing, keep no session):
# without SECRET_KEY they run with a random one that dies with the process, so a checkout
# can check its migrations without inventing a secret or a host name.
_CODE_ONLY = {"makemigrations", "showmigrations", "sqlmigrate", "check"}


def keyledger_commands() -> dict[str, str]:
    """Keyledger's own commands (those of its apps, and the aliases), with their one-line help."""
    from django.core.management import get_commands, load_command_class

    commands = dict(ALIAS_HELP)
    for name, app in sorted(get_commands().items()):
        if app.startswith("keyledger."):
            help_text = load_command_class(app, name).help.strip()
            commands[name] = help_text.splitlines()[0] if help_text else ""
    return dict(sorted(commands.items()))


def main_help() -> str:
    commands = keyledger_commands()
    width = max(map(len, commands)) + 2
    indent = " " * (4 + width)
    lines = ["Keyledger commands:", ""]
    for name, text in commands.items():
        lines.append(
            textwrap.fill(text, 100, initial_indent=f"    {name.ljust(width)}", subsequent_indent=indent)
        )
    lines += ["", "Type 'keyledger help <command>' for help on a command. Django's own commands follow.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyledger.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "keyledger"
    if len(args) > 1 and args[1] in _CODE_ONLY and "--deploy" not in args:
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
        os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    if len(args) == 1 or (len(args) == 2 and args[1] in _HELP_WORDS):
        import django

        try:
            django.setup()
        except ImproperlyConfigured as exc:
            # Django's own help still works without settings; say why ours is missing.
            sys.stdout.write(f"Keyledger's commands are listed once the settings load: {exc}\n\n")
        else:
            sys.stdout.write(main_help())
        args = ["keyledger", "help"]
    elif len(args) == 3 and args[1] == "help":
        args[2] = ALIASES.get(args[2], args[2])
    else:
        args[1] = ALIASES.get(args[1], args[1])
    try:
        execute_from_command_line(args)
    except ImproperlyConfigured as exc:
        # A configuration mistake is the operator's to fix: say what, not where in Django.
        sys.stderr.write(f"keyledger: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
