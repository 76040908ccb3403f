"""Typed configuration: every key with its default and doc, read from the environment only here."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .tracing import TracingConfig, tracing_config

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Key:
    """One environment variable: its name, default (None = required) and meaning."""

    name: str
    default: str | None
    doc: str


KEYS: list[Key] = [
    Key("PORT", "50056", "gRPC port; 0 picks a free one"),
    Key("HOST", "127.0.0.1", "address the gRPC and admin servers bind (0.0.0.0 in a container)"),
    Key("ADMIN_PORT", "9096", "HTTP port for /metrics and /healthz; 0 picks a free one, -1 disables"),
    Key("REDIS_URL", "redis://127.0.0.1:6380/0", "Redis holding the purchase counts"),
    Key("CATALOG_ADDR", "127.0.0.1:50052", "catalog's gRPC address, host:port"),
    Key("CATALOG_TIMEOUT_MS", "2000", "default deadline of one catalog call when the caller set none shorter"),
    Key("CATALOG_TLS_NAME", "catalog", "the name catalog's certificate must carry (each dev certificate names only its service)"),
    Key(
        "CATALOG_AUTHORITY",
        "",
        "istio mode: the :authority of catalog calls, which the sidecar routes on (on one machine the "
        "address is the sidecar's egress IP); empty = catalog.<topology namespace>.svc.cluster.local:<port>",
    ),
    Key("MESH_MODE", "local", "local: mTLS with the dev certs; istio: plaintext behind the sidecar"),
    Key("MESH_CERT_DIR", ".run/certs", "dev certs: ca.pem, recommendation.pem, recommendation-key.pem (local mode)"),
    Key("JWKS_URL", "", "auth's JWKS for access JWTs; empty = methods needing a JWT are refused"),
    # The same variables as mesh/src/config.ts; runner/src/plan.ts and istio/base/config.yaml set them.
    Key("JWT_ISSUER", "", "the iss access tokens must carry; empty = not checked"),
    Key("JWT_AUDIENCE", "", "the aud access tokens must carry (one of, if a list); empty = not checked"),
    Key("TOPOLOGY_PATH", str(REPO_ROOT / "mesh" / "topology.json"), "the routing and access table"),
    Key("GRACE_SECONDS", "5", "on SIGTERM, how long in-flight calls may finish"),
    Key("LOG_LEVEL", "INFO", "python logging level"),
]


@dataclass(frozen=True)
class Config:
    """The checked configuration the server is started with."""

    port: int
    host: str
    admin_port: int | None
    redis_url: str
    catalog_addr: str
    catalog_timeout_s: float
    catalog_tls_name: str
    catalog_authority: str
    mesh_mode: str
    cert_dir: Path
    jwks_url: str
    jwt_issuer: str | None
    jwt_audience: str | None
    topology_path: Path
    grace_s: float
    log_level: str
    # The standard OTEL_* variables (tracing.py); None: tracing off.
    tracing: TracingConfig | None = None


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the service must not start."""


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Reads and checks every key; raises ConfigError naming each bad one."""
    src = os.environ if env is None else env
    raw = {k.name: src.get(k.name, k.default or "") for k in KEYS}
    errors: list[str] = []

    def integer(name: str, lo: int, hi: int) -> int:
        try:
            n = int(raw[name])
        except ValueError:
            errors.append(f"{name}: not an integer: {raw[name]!r}")
            return 0
        if not lo <= n <= hi:
            errors.append(f"{name}: {n} is outside {lo}..{hi}")
        return n

    port = integer("PORT", 0, 65535)
    admin = integer("ADMIN_PORT", -1, 65535)
    timeout_ms = integer("CATALOG_TIMEOUT_MS", 1, 60000)
    grace = integer("GRACE_SECONDS", 0, 300)
    mode = raw["MESH_MODE"]
    if mode not in ("local", "istio"):
        errors.append(f"MESH_MODE: must be local or istio, got {mode!r}")
    if not raw["REDIS_URL"].startswith(("redis://", "rediss://", "unix://")):
        errors.append("REDIS_URL: must be a redis:// URL")
    if ":" not in raw["CATALOG_ADDR"]:
        errors.append("CATALOG_ADDR: must be host:port")
    cert_dir = Path(raw["MESH_CERT_DIR"])
    if mode == "local":
        for f in ("ca.pem", "recommendation.pem", "recommendation-key.pem"):
            if not (cert_dir / f).is_file():
                errors.append(f"MESH_CERT_DIR: {cert_dir / f} is missing (local mode needs mTLS certs)")
    topology = Path(raw["TOPOLOGY_PATH"])
    if not topology.is_file():
        errors.append(f"TOPOLOGY_PATH: {topology} is missing")
    tracing: TracingConfig | None = None
    try:
        tracing = tracing_config(src)
    except ValueError as e:
        errors.append(str(e))
    if errors:
        raise ConfigError("; ".join(errors))
    authority = raw["CATALOG_AUTHORITY"]
    if mode == "istio" and not authority:
        namespace = json.loads(topology.read_text())["namespace"]
        authority = f"catalog.{namespace}.svc.cluster.local:{raw['CATALOG_ADDR'].rsplit(':', 1)[1]}"
    return Config(
        port=port,
        host=raw["HOST"],
        admin_port=None if admin < 0 else admin,
        redis_url=raw["REDIS_URL"],
        catalog_addr=raw["CATALOG_ADDR"],
        catalog_timeout_s=timeout_ms / 1000,
        catalog_tls_name=raw["CATALOG_TLS_NAME"],
        catalog_authority=authority if mode == "istio" else "",
        mesh_mode=mode,
        cert_dir=cert_dir,
        jwks_url=raw["JWKS_URL"],
        jwt_issuer=raw["JWT_ISSUER"] or None,
        jwt_audience=raw["JWT_AUDIENCE"] or None,
        topology_path=topology,
        grace_s=float(grace),
        log_level=raw["LOG_LEVEL"].upper(),
        tracing=tracing,
    )
