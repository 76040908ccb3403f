"""JSON log lines (one object per line, like the TS services' pino output), with the trace and
span id of the call being served (tracing.py)."""

from __future__ import annotations

import json
import logging
import sys

from .tracing import current_call

# Attributes every LogRecord has; anything else was passed in `extra` and is logged as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_LEVELS = {"DEBUG": 20, "INFO": 30, "WARNING": 40, "ERROR": 50, "CRITICAL": 60}  # pino numbers


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: level, time (ms), name, msg, trace_id, span_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "level": _LEVELS.get(record.levelname, 30),
            "time": int(record.created * 1000),
            "name": record.name,
            "msg": record.getMessage(),
        }
        call = current_call.get()
        if call is not None:
            out["trace_id"] = call.trace_id
            out["span_id"] = call.span_id
        for k, v in vars(record).items():
            if k not in _STANDARD:
                out[k] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
        if record.exc_info and record.name.startswith("opentelemetry"):
            # A failed span export (the trace backend is down): the SDK logs one per batch, and a
            # stack each time would bury the service's own lines.
            out["err"] = repr(record.exc_info[1])
        elif record.exc_info:
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

