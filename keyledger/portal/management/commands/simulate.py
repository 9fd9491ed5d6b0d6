from django.core.management.base import BaseCommand, CommandError, CommandParser

from keyledger.demo.fleet import HttpError
from keyledger.demo.load import DemoRefused
from keyledger.demo.simulate import simulate


def _at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(text)
        return value

    parse.__name__ = f"whole number of at least {minimum}"
    return parse


class Command(BaseCommand):
    help = (
        "Simulate a fleet of products on the demo's accounts: new keys, each on a machine calling "
        "home daily over the past --days, then (with --url) once more over HTTP to a running portal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--machines", type=_at_least(1), default=20, help="Machines (keys) to add (default 20)."
        )
        parser.add_argument(
            "--days",
            type=_at_least(0),
            default=0,
            help="Days of history before today (default 0: today only).",
        )
        parser.add_argument(
            "--url",
            help="A running Keyledger (e.g. http://127.0.0.1:8000): today's call homes go there over HTTP. "
            "Without it, they are made in-process.",
        )
        parser.add_argument("--seed", type=int, help="Replay the same fleet (products, editions, accounts).")

    def handle(self, *args, machines: int, days: int, url: str | None, seed: int | None, **options) -> None:
        try:
            result = simulate(machines=machines, days=days, url=url, seed=seed, stream=self.stdout)
        except (DemoRefused, HttpError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{len(result.machines)} machine(s) added; {result.history_calls} call home(s) written in-process."
        )
        if url:
            answers = ", ".join(
                f"{count} answered {answer}" for answer, count in sorted(result.answers.items())
            )
            self.stdout.write(f"{result.live_calls} call home(s) over HTTP: {answers or 'none'}.")
            if result.unverified:
                raise CommandError(f"{result.unverified} answer(s) did not carry a valid signature.")
            self.stdout.write("Every answer carried a valid Keyledger-Signature and echoed its nonce.")
