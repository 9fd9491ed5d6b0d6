"""The call-home benchmark's pieces on a tiny scale (`make bench-server` itself takes minutes):
its keys, the no-op endpoint only its own settings mount, the open-loop generator and the
wrk script's bodies. No timing is asserted."""

import base64
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import override_settings

from bench.server import data, openloop, verify, wrk
from keyledger.api.signing import HEADER
from keyledger.keys.models import ProductKey

SIGNER = Ed25519PrivateKey.generate()


class Recorder(BaseHTTPRequestHandler):
    """Answers every POST as call home would, signed, and keeps the bodies it was sent."""

    protocol_version = "HTTP/1.1"
    bodies: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        sent = json.loads(body)
        answer = json.dumps({"key": sent["key"], "status": "active", "nonce": sent["nonce"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header(HEADER, "ed25519=" + base64.b64encode(SIGNER.sign(answer)).decode())
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def public_key() -> bytes:
    from cryptography.hazmat.primitives import serialization

    return SIGNER.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.mark.django_db
def test_the_keys_are_active_on_their_own_machines_and_pass_every_check():
    keys = data.create(35)  # 10 witnesses through the real actions, 25 copies
    assert keys.witnesses == 10
    assert len(keys.keys) == len(set(keys.keys)) == 35
    assert all(broken == 0 for _, broken in keys.checks), keys.checks
    for n in (0, 9, 10, 34):
        key = ProductKey.objects.get(key=keys.keys[n])
        assert key.state == ProductKey.State.OK
        assert (key.machine_name, key.machine_hardware_id, key.machine_software_id) == data.machine(n)


@pytest.mark.django_db
def test_the_no_op_endpoint_is_mounted_by_the_benchmark_only(client):
    assert client.post("/bench/no-op", b"{}", content_type="application/json").status_code == 404
    with override_settings(ROOT_URLCONF="bench.server.urls"):
        answer = client.post("/bench/no-op", b"{}", content_type="application/json")
    assert answer.status_code == 200
    assert json.loads(answer.content)["status"] == "active"


def test_the_open_loop_generator_sends_every_request_due_and_checks_the_answers(recorder):
    keys = ["AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", "BBBBB-BBBBB-BBBBB-BBBBB-BBBBB"]
    url = f"http://127.0.0.1:{recorder.server_address[1]}"
    result = openloop.run(
        url,
        "/api/v1/call-home",
        lambda i: data.body(i % 2, keys[i % 2], f"open-{i}"),
        rate=200,
        seconds=0.25,
        connections=3,
        sample_every=5,
    )
    assert result.sent == 50
    assert result.errors == 0
    assert len(result.latencies) == len(result.service) == 50
    assert len(result.send_lag) <= 50
    assert len(result.samples) == 10
    assert sorted(json.loads(b)["nonce"] for b in recorder.bodies) == sorted(f"open-{i}" for i in range(50))
    assert verify.open_loop_samples(result.samples, public_key(), keys=keys, start=0) == {
        "checked": 10,
        "bad": 0,
    }


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_the_wrk_script_sends_the_protocols_bodies_with_distinct_keys(recorder, tmp_path):
    keys = [f"KEY{n:02d}-AAAAA-AAAAA-AAAAA-AAAAA" for n in range(5)]
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("".join(f"{k}\n" for k in keys))
    url = f"http://127.0.0.1:{recorder.server_address[1]}/api/v1/call-home"
    run = wrk.run(
        "call home",
        url,
        keys_file=keys_file,
        offset=3,
        seconds=1,
        connections=1,
        threads=1,
        sample_file=tmp_path / "answers",
        sample_every=2,
    )
    assert run.requests > 0
    assert run.errors == 0
    # One connection, one thread: key numbers from the offset up, one each, modulo the keys
    # (wrk may build a first request it never sends); each body as SPEC §7 has it.
    numbers = []
    for body in recorder.bodies:
        nonce = json.loads(body)["nonce"]
        m = int(nonce.removeprefix("wrk-"))
        assert body == data.body(m % 5, keys[m % 5], nonce)
        numbers.append(m)
    assert numbers[0] >= 3
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    checked = verify.wrk_samples(tmp_path / "answers", public_key())
    assert checked["checked"] > 0
    assert checked["bad"] == 0
