"""Serving the web app with gunicorn: worker processes, each with its own searcher and
background threads (threads do not survive a fork, so the app is built in each worker)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from kb.config import Paths


class _Server(BaseApplication):
    def __init__(self, paths: Paths, options: dict):
        self.paths = paths
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn >= 25.1 otherwise opens a management socket at one per-user path
            # ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl), shared by every instance on the host.
            self.cfg.set("control_socket_disable", True)

    def load(self):
        from webapp import create_app

        return create_app({"KB_INSTANCE": str(self.paths.instance),
                           "KB_ARTICLES": str(self.paths.articles)})


def serve(paths: Paths, host: str, port: int, workers: int) -> None:
    _Server(paths, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 8,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-",
        "errorlog": "-",
    }).run()
