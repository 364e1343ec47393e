"""Run the app under gunicorn (the production server) from the CLI."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from adapter.settings import Settings


class _Gunicorn(BaseApplication):
    """gunicorn's programmatic entry point: each worker builds its own app from the same settings."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        from adapter.app import create_app

        return create_app(self._settings)


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve until stopped: sync workers (the work is CPU-bound, so workers = cores; BRIEF §5)."""
    options = {
        "bind": f"{host}:{port}",
        "workers": max(1, workers),
        "worker_class": "sync",
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        # the path without the query string (search values are PHI), and the request id of the app's lines
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s',
    }
    _Gunicorn(settings, options).run()
