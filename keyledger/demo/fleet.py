"""Simulated installations of the products: each holds one key and calls home as a real
product would, either in-process through keyledger.keys.call_home (with an explicit time,
for history) or over HTTP through the wire protocol (POST /api/v1/call-home)."""

from __future__ import annotations

import base64
import json
import random
import secrets
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keyledger.audit.actor import Actor, Channel
from keyledger.keys import call_home as service
from keyledger.keys.models import ProductKey

VERSIONS = {"spmsp": "5.2.7", "imagemanager": "7.8.3", "gre": "1.4.2"}
OS_BY_EDITION = {
    "server": "Windows Server 2022",
    "sbs": "Windows Small Business Server 2011",
    "desktop": "Windows 11 Pro",
    "vm": "Windows Server 2019 (Hyper-V guest)",
}
NAME_BY_EDITION = {"server": "SRV", "sbs": "SBS", "desktop": "PC", "vm": "VM"}
PRODUCT_ACTOR = Actor(channel=Channel.PRODUCT)


@dataclass
class Machine:
    key: str
    product: str
    name: str
    hardware_id: str
    software_id: str
    edition: str | None = None
    os: str = "Windows Server 2022"
    jobs_in_use: dict[str, int] = field(default_factory=dict)
    calls: int = 0

    @property
    def version(self) -> str:
        return VERSIONS.get(self.product, "1.0.0")

    def body(self, nonce: str) -> dict[str, Any]:
        """The JSON a product sends (SPEC §7)."""
        body: dict[str, Any] = {
            "key": self.key,
            "machine": {"name": self.name, "hardware_id": self.hardware_id, "software_id": self.software_id},
            "product": self.product,
            "version": self.version,
            "os": self.os,
            "nonce": nonce,
        }
        if self.edition is not None:
            body["edition"] = self.edition
        if self.jobs_in_use:
            body["jobs_in_use"] = dict(self.jobs_in_use)
        return body

    def call_home_at(self, now: datetime) -> service.Outcome:
        """Call home in-process at `now`, through the same service the HTTP endpoint uses."""
        report = service.Report(
            key=self.key,
            product=self.product,
            machine_name=self.name,
            hardware_id=self.hardware_id,
            software_id=self.software_id,
            nonce=secrets.token_hex(8),
            edition=self.edition,
            version=self.version,
            os=self.os,
            jobs_in_use=dict(self.jobs_in_use),
        )
        self.calls += 1
        return service.call_home(report=report, actor=PRODUCT_ACTOR, now=now)


def machine_for(key: ProductKey, *, name: str, edition: str | None) -> Machine:
    """The installation that holds `key`: its identifiers follow from the key, so the same
    key always gets the same machine."""
    rng = random.Random(key.key)  # made-up identifiers, not secrets
    jobs = {code: held // 2 for code, held in key.job_licenses.items() if held}
    return Machine(
        key=key.key,
        product=key.product.code,
        name=name,
        hardware_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        software_id=f"S-1-5-21-{rng.randrange(10**9)}-{rng.randrange(10**9)}",
        edition=edition,
        os=OS_BY_EDITION.get(edition or "", "Windows Server 2022"),
        jobs_in_use=jobs,
    )


def machine_name(account_name: str, product: str, edition: str | None, number: int) -> str:
    prefix = "".join(ch for ch in account_name.split()[0].upper() if ch.isalnum())[:8]
    kind = {"imagemanager": "IM", "gre": "EXCH"}.get(product) or NAME_BY_EDITION.get(edition or "", "SRV")
    return f"{prefix}-{kind}{number:02d}"


class HttpError(Exception):
    pass


@dataclass
class HttpAnswer:
    status: int
    data: dict[str, Any]
    verified: bool
    retry_after: int | None = None


class HttpClient:
    """Calls home over the wire protocol and verifies every answer's signature."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.public_key = self._public_key()

    def _request(self, path: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(  # noqa: S310 (the URL is the operator's own --url)
            self.base_url + path,
            data=body,
            method="POST" if body is not None else "GET",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise HttpError(f"{self.base_url}{path}: {exc}") from None

    def _public_key(self) -> Ed25519PublicKey:
        status, _, body = self._request("/api/v1/signing-key")
        if status != 200:
            raise HttpError(
                f"{self.base_url}/api/v1/signing-key answered {status}; is Keyledger running there?"
            )
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(json.loads(body)["public_key"]))

    def _verified(self, headers: dict[str, str], body: bytes) -> bool:
        header = next((v for k, v in headers.items() if k.lower() == "keyledger-signature"), "")
        algorithm, _, signature = header.partition("=")
        if algorithm != "ed25519":
            return False
        try:
            self.public_key.verify(base64.b64decode(signature), body)
        except (InvalidSignature, ValueError):
            return False
        return True

    def call_home(self, machine: Machine) -> HttpAnswer:
        machine.calls += 1
        nonce = secrets.token_hex(12)
        status, headers, body = self._request("/api/v1/call-home", json.dumps(machine.body(nonce)).encode())
        data = json.loads(body) if body else {}
        verified = self._verified(headers, body) and data.get("nonce") == nonce
        retry = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        return HttpAnswer(status, data, verified, int(retry) if retry and retry.isdigit() else None)
