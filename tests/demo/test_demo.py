"""`make demo` in its exit mode, run the way a user runs it: a small voice campaign and then a
small SMS blast on the embedded default (a SQLite file and an embedded Redis, here in a
temporary directory) go to `completed` through the carrier simulator, a Celery worker, beat and
the web tier on gunicorn, and the summaries' counts agree with each other and with what the
carrier saw."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.launcher import ROOT, free_port

PROSPECTS = 150
SMS_PROSPECTS = 500  # one of them carries the offer the blocked words catch
SERVICES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY")

pytestmark = pytest.mark.e2e


def _processes_naming(text: str) -> list[str]:
    """Command lines of running processes that mention `text`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in argv:
            found.append(argv)
    return found


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    var = tmp_path_factory.mktemp("demo-var")
    env = {k: v for k, v in os.environ.items() if k not in SERVICES}
    env.update(DEMO_VAR_DIR=str(var), COLUMNS="120")
    argv = [sys.executable, "scripts/demo.py", "--no-serve", f"--prospects={PROSPECTS}"]
    argv += [f"--sms-prospects={SMS_PROSPECTS}"]
    argv += [f"--port={free_port()}", "--retry-delay-minutes=0", "--timeout=150"]
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    logs = "".join(
        f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted((var / "demo-logs").glob("*.log"))
    )
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}{logs}"
    return var, done.stdout


def test_the_demo_campaign_completes_on_the_embedded_default(demo_run):
    var, out = demo_run
    summary = json.loads((var / "demo-summary.json").read_text())
    assert summary["status"] == "completed"
    assert "Summary: campaign" in out and "completed" in out
    assert (var / "demo.sqlite3").exists()  # SQLite, where the demo keeps its files
    prospects = summary["prospects_by_status"]
    assert summary["prospects"] == sum(prospects.values()) == PROSPECTS
    assert not {"queued", "dialing"} & set(prospects)
    assert prospects.get("suppressed")  # the DNC list was honoured: never dialed


def test_its_counts_agree_with_the_carrier_and_the_limits(demo_run):
    var, _ = demo_run
    summary = json.loads((var / "demo-summary.json").read_text())
    attempts = summary["attempts_by_outcome"]
    assert summary["attempts"] == sum(attempts.values()) == summary["carrier"]["calls"]
    assert not {"originating", "in_flight"} & set(attempts)  # every call was settled
    assert summary["carrier"]["callbacks_sent"] > 0
    assert summary["carrier"]["callbacks_failed"] == 0  # every signature validated
    dialed = PROSPECTS - summary["prospects_by_status"]["suppressed"]
    reached = summary["attempts"] - attempts.get("rejected", 0)
    assert dialed <= reached <= 2 * dialed  # two attempts per number at most
    peaks, limits = summary["peak_active"], summary["limits"]
    assert 0 < peaks["carrier"] <= limits["org"]
    assert peaks["org"] <= limits["org"]
    assert summary["caller_ids"]["in_use"] <= summary["caller_ids"]["of"] == 20


def test_the_blast_completes_and_its_texts_credit_and_clicks_agree_with_the_carrier(demo_run):
    var, out = demo_run
    blast = json.loads((var / "demo-summary.json").read_text())["sms_blast"]
    assert blast["status"] == "completed"
    assert "Summary: SMS blast" in out
    prospects = blast["prospects_by_status"]
    assert blast["prospects"] == sum(prospects.values()) == SMS_PROSPECTS
    assert set(prospects) <= {"delivered", "failed", "suppressed"}  # none left to text
    assert blast["audience"]["queued"] == blast["texts"] == SMS_PROSPECTS - prospects["suppressed"]
    texts, dead = blast["texts_by_status"], blast["dead_letters"]
    assert set(texts) == {"delivered", "failed"}
    assert sum(dead.values()) == texts["failed"] == prospects["failed"]
    assert dead["BLOCKED_CONTENT"] == 1  # never put to the carrier
    carrier = blast["carrier"]
    assert (
        carrier["messages"]
        == blast["submitted"]
        == blast["texts"] - dead["BLOCKED_CONTENT"] - (dead.get("PROVIDER_ERROR", 0))
    )
    assert carrier["refused"] == dead.get("PROVIDER_ERROR", 0)  # landlines
    assert carrier["most_texts_to_one_number"] == 1
    assert carrier["by_status"] == {
        "delivered": texts["delivered"],
        "undelivered": dead["UNDELIVERED"],
    }
    assert carrier["callbacks_failed"] == 0
    assert blast["credits"]["spent"] == blast["segments"]  # what the carrier took, no more
    assert 0 < blast["clicks"]["clicks"] == blast["clicks"]["messages_clicked"] < texts["delivered"]


def test_it_stops_every_process_it_started(demo_run):
    var, out = demo_run
    assert "Stopping the demo's processes" in out
    assert _processes_naming(str(var)) == []
