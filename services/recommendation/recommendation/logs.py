"""JSON log lines (one object per line, like the TS services' pino output), with the trace id."""

from __future__ import annotations

import contextvars
import json
import logging
import sys

trace_id: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="")

# Attributes every LogRecord has; anything else was passed in `extra` and is logged as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_LEVELS = {"DEBUG": 20, "INFO": 30, "WARNING": 40, "ERROR": 50, "CRITICAL": 60}  # pino numbers


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: level, time (ms), name, msg, trace_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "level": _LEVELS.get(record.levelname, 30),
            "time": int(record.created * 1000),
            "name": record.name,
            "msg": record.getMessage(),
        }
        tid = trace_id.get()
        if tid:
            out["trace_id"] = tid
        for k, v in vars(record).items():
            if k not in _STANDARD:
                out[k] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
        if record.exc_info:
            # Stack traces go to our log only, never to a client.
            out["err"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup_logging(level: str = "INFO") -> None:
    """Sends every log record to stdout as JSON."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def trace_id_of(traceparent: str) -> str:
    """The trace id of a W3C traceparent header, or "" when malformed."""
    parts = traceparent.split("-")
    if len(parts) >= 4 and len(parts[1]) == 32:
        return parts[1]
    return ""


