"""gunicorn settings for `make serve` (production start), every one from the environment.

    FONDOS_ENV=production SECRET_KEY=… DATABASE_URL=postgresql+psycopg://… make serve

| variable | default | |
|---|---|---|
| `BIND` | `0.0.0.0:$PORT` | where to listen (`unix:/run/fondos.sock` works too) |
| `PORT` | `8000` | |
| `WEB_CONCURRENCY` | 2 × CPUs + 1 | worker processes |
| `GUNICORN_THREADS` | `4` | threads per worker (gthread); each may hold one database connection |
| `GUNICORN_TIMEOUT` | `60` | seconds a request may take before its worker is restarted |
| `GUNICORN_MAX_REQUESTS` | `2000` | a worker restarts after this many requests (± 10 %), 0 = never |
| `FORWARDED_ALLOW_IPS` | `127.0.0.1` | proxies whose X-Forwarded-For/-Proto are believed |
| `GUNICORN_ACCESS_LOG` | unset | `-` for gunicorn's own access log (the app already logs every request) |
| `PROMETHEUS_MULTIPROC_DIR` | unset | a directory for prometheus-client's multiprocess mode (emptied at start) |

Before any worker starts, the master checks the production settings (SECRET_KEY, a PostgreSQL
DATABASE_URL) and exits with the reason if they are not fit, instead of workers failing one by one.
"""
import multiprocessing
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

port = os.environ.get("PORT", "8000")
bind = [os.environ.get("BIND") or f"0.0.0.0:{port}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 2000)
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
wsgi_app = "wsgi:app"


def _json_logs() -> bool:
    fmt = os.environ.get("LOG_FORMAT", "").strip().lower()
    return fmt == "json" if fmt else os.environ.get("FONDOS_ENV") == "production"


if _json_logs():  # gunicorn's own lines (worker started, timeouts) in the same JSON as the app's
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "grants.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": os.environ.get("LOG_LEVEL", "INFO").upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }


def on_starting(server):
    if os.environ.get("FONDOS_ENV") == "production":
        from config import ProductionConfigError, load_config

        try:
            load_config("production")
        except ProductionConfigError as exc:
            sys.stderr.write(f"{exc}\n")
            sys.exit(78)  # EX_CONFIG: the master exits before any worker starts
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:  # samples of a previous run would be added to this one's
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
