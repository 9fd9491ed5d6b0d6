import json
import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keyledger.demo.fleet import HttpClient, HttpError, Machine


def _jobs(text: str) -> tuple[str, int]:
    code, _, count = text.partition("=")
    if not code or not count.isdigit():
        raise ValueError(text)
    return code, int(count)


_jobs.__name__ = "job licenses in use as code=N"


class Command(BaseCommand):
    help = (
        "Be one installed product calling home with KEY over the wire protocol: activate a key "
        "sourced in the portal, or make a pending Deactivate or Reactivate final. The answer's "
        "signature is verified."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="The product key, as the portal shows it.")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The running Keyledger.")
        parser.add_argument("--product", default="spmsp", help="Product code (default spmsp).")
        parser.add_argument("--edition", help="SP-MSP edition: server, sbs, desktop or vm (default server).")
        parser.add_argument("--machine", default="DEMO-SRV01", help="Machine name (default DEMO-SRV01).")
        parser.add_argument(
            "--jobs",
            type=_jobs,
            action="append",
            default=[],
            help="ImageManager job licenses in use, e.g. --jobs shadowstream=2 (repeatable).",
        )

    def handle(
        self, *args, key: str, url: str, product: str, edition: str | None, machine: str, jobs, **options
    ):
        # The identifiers follow from the machine name: calling again is the same machine.
        identity = uuid.uuid5(uuid.NAMESPACE_DNS, f"{machine}.keyledger.invalid")
        if product == "spmsp" and edition is None:
            edition = "server"
        installed = Machine(
            key=key,
            product=product,
            name=machine,
            hardware_id=str(identity),
            software_id=f"S-1-5-21-{identity.int % 10**9}",
            edition=edition,
            jobs_in_use=dict(jobs),
        )
        try:
            answer = HttpClient(url).call_home(installed)
        except HttpError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"HTTP {answer.status}")
        self.stdout.write(json.dumps(answer.data, indent=2))
        if not answer.verified:
            raise CommandError("The answer did not carry a valid Keyledger-Signature for its nonce.")
        self.stdout.write("The answer's Keyledger-Signature is valid and it echoes the nonce.")
        if answer.status != 200:
            raise CommandError(f"Refused: {answer.data.get('error')}")
