"""The portal behind a real HTTP server in its own process, for the CSV bench: the standard
library's WSGI server (wsgiref), one request at a time, no log lines. It prints the port it
listens on, then serves until it is terminated.

Run by bench.billing.csv_export with the bench's environment (the same throw-away database).
"""

from __future__ import annotations

import os
import sys
import warnings
from wsgiref.simple_server import WSGIRequestHandler, make_server

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyledger.settings")
warnings.filterwarnings("ignore", "No directory at")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    from keyledger.wsgi import application

    server = make_server("127.0.0.1", 0, application, handler_class=QuietHandler)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
