from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from keyledger.demo import data
from keyledger.demo.load import DemoRefused, load


class Command(BaseCommand):
    help = (
        "Load the demo data (a vendor, two distributors, MSPs, accounts, sites, product keys with "
        "months of history) into an empty database; safe to run again; refused on a database with other data."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "The demo is for development machines: its logins share a published password. "
                "Run it with DEBUG=1 (as `make demo` does), on a database of its own."
            )
        try:
            outcome = load()
        except DemoRefused as exc:
            raise CommandError(str(exc)) from None
        if outcome.created:
            self.stdout.write(self.style.SUCCESS("Loaded the demo data."))
        else:
            self.stdout.write("The demo data is already loaded; nothing was changed.")
        width = max(len(login.email) for login in outcome.logins) + 2
        self.stdout.write(f"\nDemo logins (password for all: {data.PASSWORD}):")
        for login in outcome.logins:
            self.stdout.write(f"  {login.email.ljust(width)}{login.what}")
        for msp, url in outcome.waiting_invitations:
            self.stdout.write(f"\nThe invitation of {msp} is waiting to be accepted: {url}")
        self.stdout.write(f"\nSign in at {settings.SITE_URL}{reverse('portal:login')}")
