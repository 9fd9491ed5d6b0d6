"""The `keyledger` command: Django's management commands under Keyledger's name.

keyledger serve          the web portal (development server)
keyledger worker         the background worker
keyledger demo           load the demo data
keyledger migrate        create or update the database
"""

import os
import sys

ALIASES = {"serve": "runserver"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyledger.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    if len(args) > 1:
        args[1] = ALIASES.get(args[1], args[1])
    args[0] = "keyledger"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
