"""Per-method access from mesh/topology.json: mTLS caller identity (local mode) and the JWT."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import grpc

from .errors import PermissionDeniedError, UnauthenticatedError, UnavailableError
from .jwt import TokenVerifier, User

SERVICE = "recommendation"


@dataclass(frozen=True)
class MethodRule:
    """Who may call one method, and whether it needs an end-user JWT."""

    callers: frozenset[str]  # SPIFFE URIs
    public: bool
    roles: tuple[str, ...]


def spiffe_id(trust_domain: str, namespace: str, name: str) -> str:
    """The SPIFFE URI of a workload in the mesh."""
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{name}"


def load_rules(topology_path: Path, service: str = SERVICE) -> dict[str, MethodRule]:
    """Rules keyed by full gRPC path ("/pkg.Service/Method") for one service of the topology."""
    topo = json.loads(topology_path.read_text())
    td, ns = topo["trustDomain"], topo["namespace"]
    rules: dict[str, MethodRule] = {}
    for method, m in topo["services"][service]["methods"].items():
        rules["/" + method] = MethodRule(
            callers=frozenset(spiffe_id(td, ns, c) for c in m.get("callers", [])),
            public=bool(m.get("public", False)),
            roles=tuple(m.get("roles", [])),
        )
    return rules


def peer_ids(auth_context: dict[str, Sequence[bytes]]) -> set[str]:
    """The SPIFFE URIs in the peer certificate, as gRPC's TLS layer reports them."""
    out: set[str] = set()
    for key in ("peer_spiffe_id", "peer_uri", "x509_subject_alternative_name"):
        for v in auth_context.get(key, ()):
            s = v.decode() if isinstance(v, bytes) else str(v)
            if s.startswith("spiffe://"):
                out.add(s)
    return out


class Access:
    """Checks one call against its rule; handlers then only do business authorization."""

    def __init__(self, rules: dict[str, MethodRule], verifier: TokenVerifier, check_peer: bool) -> None:
        self._rules = rules
        self._verifier = verifier
        # In istio mode the sidecar terminates mTLS and AuthorizationPolicy enforces callers.
        self._check_peer = check_peer

    def authorize(self, method: str, context: grpc.ServicerContext) -> User | None:
        """Raises PermissionDenied/Unauthenticated; returns the end user when a JWT was given."""
        rule = self._rules.get(method)
        if rule is None:
            # Every served method must be in the table: refusing is safer than guessing.
            raise PermissionDeniedError(f"{method} is not in the access table")
        if self._check_peer:
            ids = peer_ids(context.auth_context())
            if not ids & rule.callers:
                raise PermissionDeniedError(
                    f"caller {', '.join(sorted(ids)) or '(no identity)'} may not call {method}"
                )
        token = _bearer(context.invocation_metadata())
        user: User | None = None
        if token is None:
            if not rule.public:
                raise UnauthenticatedError("an access token is required (authorization: Bearer ...)")
        else:
            try:
                user = self._verifier.verify(token)
            except (UnauthenticatedError, UnavailableError):
                # As mesh/src/server-guard.ts: on a public method a token that cannot be checked
                # (invalid, or auth's keys unavailable) is ignored, as if absent.
                if not rule.public:
                    raise
        _check_roles(rule.roles, user)
        return user


def _check_roles(required: tuple[str, ...], user: User | None) -> None:
    # Any one listed role is enough, as checkRoles in mesh/src/server-guard.ts.
    if not required:
        return
    held = user.roles if user is not None else ()
    if not any(r in held for r in required):
        raise PermissionDeniedError(f"requires role {' or '.join(required)}")


def _bearer(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    for k, v in metadata or ():
        if k == "authorization" and isinstance(v, str) and v[:7].lower() == "bearer ":
            return v[7:].strip() or None
    return None
