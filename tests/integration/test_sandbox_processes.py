"""The sandbox as people run it: standalone under gunicorn, and mounted inside the app."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from checkout.highhelp import HighHelpClient
from checkout.highhelp.wire import CreatePayinRequest
from tests.conftest import KEYS, PROJECT_ID, make_environ, merchant_signer
from tests.processes import clean_environ, free_port, local_gunicorn, run_flask, serving
from tests.sandbox_support import Payer, create_body, running_receiver


def test_standalone_with_the_shared_test_keys(tmp_path: Path) -> None:
    environ = clean_environ(
        SANDBOX_MERCHANT_PUBLIC_KEY_FILE=str(KEYS / "merchant_public.pem"),
        SANDBOX_CALLBACK_PRIVATE_KEY_FILE=str(KEYS / "highhelp_callback_private.pem"),
        SANDBOX_PROJECT_ID=PROJECT_ID,
        SANDBOX_DATABASE_URL=f"sqlite:///{tmp_path / 'standalone.sqlite3'}",
    )
    port = free_port()
    command = local_gunicorn(port, "checkout.sandbox:create_app()", threads=4)
    with (
        running_receiver() as receiver,
        serving(command, environ, port, tmp_path / "sandbox.log", "/") as url,
    ):
        client = HighHelpClient(url, PROJECT_ID, merchant_signer())
        answer = client.create_payin(CreatePayinRequest.build(create_body("standalone-1", receiver)))
        payer = Payer(answer.integration.form_url)
        payer.open()
        payer.choose()
        payer.enter(payer.otp())
        assert payer.phase() == "success"
        alerts = receiver.wait_for(lambda got: any(alert.state == "success" for alert in got))
        assert alerts
        assert all(alert.verified for alert in alerts)
        # Outside test mode the control endpoints are not there.
        assert requests.get(f"{url}/control/payins/standalone-1", timeout=5).status_code == 404


def test_standalone_refuses_bad_settings_with_a_message(tmp_path: Path) -> None:
    environ = clean_environ(
        SANDBOX_MERCHANT_PUBLIC_KEY_FILE=str(tmp_path / "missing.pem"), SANDBOX_RESEND_SECONDS="soon"
    )
    from checkout.sandbox import SandboxConfigError, create_app

    try:
        create_app(environ, instance_path=tmp_path)
    except SandboxConfigError as error:
        message = str(error)
    else:
        raise AssertionError("bad settings were accepted")
    assert "SANDBOX_MERCHANT_PUBLIC_KEY_FILE: cannot read" in message
    assert "SANDBOX_RESEND_SECONDS: must be a whole number" in message


def test_mounted_sandbox_calls_back_into_a_single_threaded_server(tmp_path: Path, database_url: str) -> None:
    """The sender runs beside the request threads, so even one thread never deadlocks."""
    environ = clean_environ(**make_environ(database_url, INSTANCE_PATH=str(tmp_path / "instance")))
    port = free_port()
    command = local_gunicorn(port, threads=1)
    with serving(command, environ, port, tmp_path / "app.log") as url:
        client = HighHelpClient(url + "/sandbox", PROJECT_ID, merchant_signer())
        body = create_body("mounted-1")
        # Callbacks go to the very server that runs the sandbox; /healthz refuses POST with 405.
        for name in (
            "merchant_callback_url",
            "merchant_success_callback_url",
            "merchant_decline_callback_url",
        ):
            body["general"][name] = f"{url}/healthz"
        answer = client.create_payin(CreatePayinRequest.build(body))
        assert answer.integration.form_url.startswith(f"{url}/sandbox/pay/")
        payer = Payer(answer.integration.form_url)
        payer.open()
        payer.choose()
        payer.enter(payer.otp())
        assert payer.phase() == "success"
        deadline = time.monotonic() + 15
        while True:
            deliveries = requests.get(f"{url}/sandbox/control/payins/mounted-1", timeout=5).json()[
                "deliveries"
            ]
            statuses = [attempt["http_status"] for d in deliveries for attempt in d["attempts"]]
            if statuses.count(405) >= len(deliveries):
                break
            assert time.monotonic() < deadline, f"callbacks did not reach the server: {deliveries}"
            time.sleep(0.2)
        assert requests.get(url + "/", timeout=5).status_code == 200


def test_mounted_sandbox_refuses_a_callback_key_the_app_does_not_trust(tmp_path: Path) -> None:
    environ = clean_environ(
        **make_environ(f"sqlite:///{tmp_path / 'x.sqlite3'}", INSTANCE_PATH=str(tmp_path / "instance"))
    )
    del environ["SANDBOX_CALLBACK_PRIVATE_KEY_FILE"]
    result = run_flask("routes", environ=environ)
    assert result.returncode != 0
    assert "HIGHHELP_CALLBACK_PUBLIC_KEY is not the sandbox's callback key" in result.stderr
    assert "Traceback" not in result.stderr
