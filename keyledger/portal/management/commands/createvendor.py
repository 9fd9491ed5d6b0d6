from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from keyledger.audit.actor import Actor, Channel
from keyledger.organisations.actions import create_vendor


class Command(BaseCommand):
    help = (
        "Create the vendor organisation, the root of the channel tree, on a new installation; "
        "then `keyledger createsuperuser` gives it its first staff login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The vendor's name, as the portal shows it.")

    def handle(self, *args: object, name: str, **options: object) -> None:
        if not name.strip():
            raise CommandError("Give the vendor a name.")
        try:
            vendor = create_vendor(name=name, actor=Actor.system(Channel.CLI))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Created the vendor organisation “{vendor.name}”.")
        self.stdout.write(
            "Next: keyledger createsuperuser (its first vendor staff login, with the Django admin)."
        )
