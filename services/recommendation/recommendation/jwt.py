"""Access-JWT checks against auth's JWKS: ES256 signature, exp and nbf, with a cached key set."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Callable, Protocol

from . import es256
from .errors import UnauthenticatedError

# Clocks of two machines disagree a little; a token is not refused for a few seconds of skew.
LEEWAY_S = 30
JWKS_TTL_S = 300
# An unknown kid triggers a refetch (key rotation), but at most this often, so junk tokens
# cannot make us hammer auth.
REFETCH_MIN_S = 30
# Verified tokens are remembered until they expire: ES256 in pure Python costs about 14 ms a call,
# and one access token is used for many calls (issue 12 measured it as most of this service's CPU
# per order). Bounded; emptied when full.
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class User:
    """The end user a valid access token names."""

    id: str
    roles: tuple[str, ...]
    token: str


class TokenVerifier(Protocol):
    """Turns a bearer token into a User or raises UnauthenticatedError."""

    def verify(self, token: str) -> User:
        """Checks the token; raises UnauthenticatedError when it is not valid now."""
        ...


def b64url(s: str) -> bytes:
    """Decodes unpadded base64url, as JWS uses."""
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def fetch_jwks(url: str) -> dict:  # type: ignore[type-arg]
    """GETs a JWKS document (short timeout: auth being down must not hang a call for long)."""
    with urllib.request.urlopen(url, timeout=2) as res:  # noqa: S310 - the URL is configuration
        return json.loads(res.read())


class JwksVerifier:
    """TokenVerifier for ES256 JWTs signed by a key of the JWKS at a URL."""

    def __init__(
        self,
        jwks_url: str,
        fetch: Callable[[str], dict] = fetch_jwks,  # type: ignore[type-arg]
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = jwks_url
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[int, int]] = {}
        self._fetched_at = float("-inf")
        self._verified: dict[str, tuple[User, float]] = {}

    def verify(self, token: str) -> User:
        hit = self._verified.get(token)
        if hit is not None:
            if self._clock() <= hit[1] + LEEWAY_S:
                return hit[0]
            self._verified.pop(token, None)
        user, exp = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (user, exp)
        return user

    def _verify(self, token: str) -> tuple[User, float]:
        parts = token.split(".")
        if len(parts) != 3:
            raise UnauthenticatedError("malformed access token")
        try:
            header = json.loads(b64url(parts[0]))
            claims = json.loads(b64url(parts[1]))
            sig = b64url(parts[2])
        except ValueError:
            raise UnauthenticatedError("malformed access token") from None
        if not isinstance(header, dict) or header.get("alg") != "ES256":
            raise UnauthenticatedError("access token must be ES256")
        key = self._key(str(header.get("kid", "")))
        if key is None or not es256.verify(key, f"{parts[0]}.{parts[1]}".encode(), sig):
            raise UnauthenticatedError("access token signature is not valid")
        now = self._clock()
        exp = claims.get("exp") if isinstance(claims, dict) else None
        if not isinstance(exp, (int, float)) or now > exp + LEEWAY_S:
            raise UnauthenticatedError("access token expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, (int, float)) and now + LEEWAY_S < nbf:
            raise UnauthenticatedError("access token not valid yet")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise UnauthenticatedError("access token has no subject")
        roles = claims.get("roles", [])
        return User(sub, tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (), token), float(exp)

    def _key(self, kid: str) -> tuple[int, int] | None:
        with self._lock:
            age = self._clock() - self._fetched_at
            stale = age > JWKS_TTL_S or (kid not in self._keys and age > REFETCH_MIN_S)
            if stale:
                try:
                    self._keys = _parse_jwks(self._fetch(self._url))
                    self._fetched_at = self._clock()
                except Exception:  # noqa: BLE001 - any fetch failure: keep the old keys
                    if not self._keys:
                        raise UnauthenticatedError("cannot fetch the signing keys") from None
            if kid:
                return self._keys.get(kid)
            # A token without kid is accepted only when the set has exactly one key.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None


def _parse_jwks(doc: dict) -> dict[str, tuple[int, int]]:  # type: ignore[type-arg]
    keys: dict[str, tuple[int, int]] = {}
    for k in doc.get("keys", []):
        if k.get("kty") == "EC" and k.get("crv") == "P-256" and k.get("alg", "ES256") == "ES256":
            point = (int.from_bytes(b64url(k["x"]), "big"), int.from_bytes(b64url(k["y"]), "big"))
            if es256.on_curve(point):
                keys[str(k.get("kid", ""))] = point
    return keys


class RejectAll:
    """TokenVerifier used when no JWKS is configured: methods that need a JWT fail closed."""

    def verify(self, token: str) -> User:
        raise UnauthenticatedError("no JWKS configured: access tokens cannot be checked")
