"""Entry point: env -> config -> start; SIGTERM drains and stops. `python -m recommendation`."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from .config import ConfigError, load_config
from .logs import setup_logging


def main() -> int:
    """Runs the service until SIGTERM or SIGINT; exits 2 on bad configuration."""
    setup_logging()
    log = logging.getLogger("recommendation")
    try:
        cfg = load_config()
    except ConfigError as e:
        log.error("bad configuration: %s", e)
        return 2
    logging.getLogger().setLevel(cfg.log_level)
    from .server import start_server  # after logging, so import-time warnings are JSON too

    running = start_server(cfg)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("shutting down", extra={"grace_s": cfg.grace_s})
    running.stop(cfg.grace_s)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
