"""Prometheus metrics with the standard gRPC server names, and the admin HTTP server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


class Metrics:
    """The service's metrics in their own registry (tests start several servers per process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["grpc_type", "grpc_service", "grpc_method"]
        self.started = Counter(
            "grpc_server_started_total", "RPCs started on the server.", labels, registry=self.registry
        )
        self.handled = Counter(
            "grpc_server_handled_total", "RPCs completed on the server, by status code.",
            [*labels, "grpc_code"], registry=self.registry,
        )
        self.seconds = Histogram(
            "grpc_server_handling_seconds", "Time to handle an RPC.", labels, registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.breaker = Gauge(
            "circuit_breaker_state", "Upstream breaker: 0 closed, 1 half-open, 2 open.",
            ["upstream"], registry=self.registry,
        )
        self.recorded = Counter(
            "recommendation_purchases_recorded_total", "RecordPurchase calls, by outcome.",
            ["outcome"], registry=self.registry,
        )

    def breaker_listener(self, upstream: str) -> Callable[[str], None]:
        """A Breaker on_state callback that exports the state."""
        gauge = self.breaker.labels(upstream)
        gauge.set(0)
        return lambda state: gauge.set(BREAKER_STATES[state])


class AdminServer:
    """HTTP /metrics and /healthz on the admin port, on a daemon thread."""

    def __init__(self, host: str, port: int, metrics: Metrics, healthy: Callable[[], bool]) -> None:
        registry = metrics.registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path == "/metrics":
                    body, ctype, status = generate_latest(registry), CONTENT_TYPE_LATEST, 200
                elif self.path == "/healthz":
                    ok = healthy()
                    body, ctype, status = (b"ok\n" if ok else b"not serving\n"), "text/plain", 200 if ok else 503
                else:
                    body, ctype, status = b"not found\n", "text/plain", 404
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # scrapes every few seconds would drown the JSON log

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, name="admin-http", daemon=True).start()

    def close(self) -> None:
        """Stops serving and frees the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
