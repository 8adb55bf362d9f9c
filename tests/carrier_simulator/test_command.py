"""`manage.py run_carrier_simulator`: starts, serves the SDK, stops cleanly on SIGTERM."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command
from twilio.rest import Client

from messaging.providers.twilio import RewritingHttpClient

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"
ACCOUNT, TOKEN = "AC" + "c3" * 16, "command-token"


def test_the_command_serves_until_sigterm(tmp_path):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"cps": 5, "to_suffix": {"0001": "busy"}}))
    process = subprocess.Popen(
        [
            sys.executable,
            str(MANAGE),
            "run_carrier_simulator",
            "--port",
            "0",
            "--account",
            f"{ACCOUNT}:{TOKEN}",
            "--scenario",
            str(scenario),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in banner, process.stderr.read()
        base_url = banner.split("listening on ")[1].split()[0]

        assert requests.get(f"{base_url}/_sim/scenario", timeout=5).json()["cps"] == 5
        client = Client(ACCOUNT, TOKEN, http_client=RewritingHttpClient(base_url, timeout=5))
        call = client.calls.create(to="+14155550001", from_="+14155550100", twiml="<Response/>")
        assert call.status == "queued"
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)

    assert process.returncode == 0
    assert "stopped" in out


@pytest.mark.parametrize(
    "args",
    [["--account", "no-token"], ["--scenario", "/nonexistent/scenario.json"]],
    ids=["bad-account", "missing-scenario"],
)
def test_bad_arguments_are_refused_before_listening(args):
    with pytest.raises(CommandError):
        call_command("run_carrier_simulator", "--port", "0", *args)
