"""`intake web`: the session secret and the production server (waitress) for the console."""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping

from waitress import serve as waitress_serve

from ..config import Config
from .app import create_app

log = logging.getLogger("intake.web")
SECRET_ENV = "INTAKE_WEB_SECRET"


def session_secret(config: Config, environ: Mapping[str, str] = os.environ) -> bytes:
    """From the environment, or a file only the service account reads (made on first use): a restart
    keeps the clerks logged in, and a copy of the ledger alone cannot sign a session."""
    given = environ.get(SECRET_ENV, "")
    if given:
        if len(given) < 32:
            raise ValueError(f"{SECRET_ENV} must be at least 32 characters")
        return given.encode("utf-8")
    path = config.output_dir / ".web" / "secret"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:           # another process made it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(made)
        f.flush()
        os.fsync(f.fileno())
    return made


def serve(config: Config, host: str, port: int) -> None:
    app = create_app(config, session_secret(config))
    log.info("console on http://%s:%d%s/", host, port, config.web.prefix)
    # url_prefix: behind a reverse proxy at /intake, every link and the session cookie carry the prefix.
    waitress_serve(app, host=host, port=port, url_prefix=config.web.prefix, threads=8, ident="intake",
                   clear_untrusted_proxy_headers=True)
