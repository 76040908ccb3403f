"""Access-JWT checks against auth's JWKS, with the rules of mesh/src/jwt.ts (docs/architecture.md,
"Serving"): ES256 only, `sub` and `exp` required, `iss` and `aud` checked when configured.

PyJWT on cryptography does the JWS and the claims. This module only keeps the key set: fetched
lazily, refetched when an unknown kid shows up (rotation) at most every REFETCH_MIN_S, a failed
fetch remembered for FAILURE_COOLDOWN_S, and no lock held across the network: one caller fetches,
the others go on with the keys they have (or fail fast with UNAVAILABLE when there are none yet).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import jwt
from jwt.algorithms import ECAlgorithm

from .errors import UnauthenticatedError, UnavailableError

# The only algorithm auth signs with (services/auth/src/domain/access-tokens.ts). Never taken from
# the token: alg none and HS256 keyed with the public key are refused before any key is used.
ALGORITHMS = ["ES256"]
# Seconds: timeout of one JWKS fetch; auth being down must not hang a call for long.
FETCH_TIMEOUT_S = 2.0
# A key set older than this is refreshed (mesh/src/jwt.ts: cacheMaxAge 10 min).
JWKS_MAX_AGE_S = 600.0
# An unknown kid triggers a refetch, but at most this often, so junk tokens cannot make us hammer
# auth (mesh/src/jwt.ts: cooldownDuration 30 s).
REFETCH_MIN_S = 30.0
# After a failed fetch, no other for this long: calls fail fast instead of each waiting on auth.
FAILURE_COOLDOWN_S = 5.0
# Verified tokens are remembered until they expire: one access token is used for many calls (issue 12
# measured verification as most of this service's CPU per order). Bounded; the oldest leaves first.
VERIFIED_CACHE_SIZE = 10_000
MAX_JWKS_BYTES = 1 << 20


@dataclass(frozen=True)
class User:
    """The end user a valid access token names."""

    id: str
    roles: tuple[str, ...]
    token: str


class TokenVerifier(Protocol):
    """Turns a bearer token into a User, or raises UnauthenticatedError (UnavailableError: no keys)."""

    def verify(self, token: str) -> User:
        """Checks the token; raises UnauthenticatedError when it is not valid now."""
        ...


def fetch_jwks(url: str) -> dict:  # type: ignore[type-arg]
    """GETs a JWKS document."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as res:  # noqa: S310 - the URL is configuration
        return json.loads(res.read(MAX_JWKS_BYTES))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _KeySet:
    """One immutable snapshot; replaced whole, so readers never need a lock."""

    keys: dict[str, Any] = field(default_factory=dict)  # kid -> cryptography public key
    fetched_at: float = float("-inf")  # last successful fetch
    tried_at: float = float("-inf")  # last attempt, successful or not
    failed: bool = False  # the last attempt failed


class JwksVerifier:
    """TokenVerifier for ES256 JWTs signed by a key of the JWKS at a URL."""

    def __init__(
        self,
        jwks_url: str,
        issuer: str | None = None,
        audience: str | None = None,
        fetch: Callable[[str], dict] = fetch_jwks,  # type: ignore[type-arg]
        clock: Callable[[], float] = time.monotonic,
        refetch_min_s: float = REFETCH_MIN_S,
        failure_cooldown_s: float = FAILURE_COOLDOWN_S,
        cache_size: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        self._url = jwks_url
        self._issuer = issuer or None
        self._audience = audience or None
        self._fetch = fetch
        self._clock = clock  # for the key set's timers; token times are wall-clock, checked by PyJWT
        self._refetch_min_s = refetch_min_s
        self._cooldown_s = failure_cooldown_s
        self._options: dict[str, Any] = {
            "require": ["sub", "exp"],
            "verify_aud": self._audience is not None,
            # jose (mesh/src/jwt.ts) does not refuse an iat in the future; neither do we.
            "verify_iat": False,
        }
        self._keyset = _KeySet()
        self._fetching = threading.Lock()  # held by the one fetching caller; never waited on
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()  # guards the dict only, never held across I/O or crypto
        self._verified: dict[str, tuple[User, float]] = {}

    def verify(self, token: str) -> User:
        with self._cache_lock:
            hit = self._verified.get(token)
        if hit is not None:
            if time.time() < hit[1]:
                return hit[0]
            with self._cache_lock:
                self._verified.pop(token, None)
        user, exp = self._verify(token)
        with self._cache_lock:
            while len(self._verified) >= self._cache_size:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (user, exp)
        return user

    def cached(self) -> int:
        """How many verified tokens are remembered."""
        with self._cache_lock:
            return len(self._verified)

    def prefetch(self) -> None:
        """Fetches the key set in the background, so the first calls need not wait for it."""
        threading.Thread(target=self._refresh, name="jwks-prefetch", daemon=True).start()

    def _verify(self, token: str) -> tuple[User, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UnauthenticatedError("malformed access token") from None
        if header.get("alg") not in ALGORITHMS:
            raise UnauthenticatedError("access token must be ES256")
        key = self._key(header.get("kid"))
        try:
            claims = jwt.decode(
                token, key, algorithms=ALGORITHMS, issuer=self._issuer, audience=self._audience,
                options=self._options,  # type: ignore[arg-type]
            )
        except jwt.ExpiredSignatureError:
            raise UnauthenticatedError("access token expired") from None
        except jwt.InvalidSignatureError:
            raise UnauthenticatedError("access token signature is not valid") from None
        except jwt.InvalidIssuerError:
            raise UnauthenticatedError("access token has the wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise UnauthenticatedError("access token has the wrong audience") from None
        except jwt.MissingRequiredClaimError as e:
            raise UnauthenticatedError(f"access token has no {e.claim}") from None
        except jwt.PyJWTError:
            raise UnauthenticatedError("access token is not valid") from None
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub:
            raise UnauthenticatedError("access token has no sub")
        roles = claims.get("roles", [])
        roles = tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else ()
        return User(sub, roles, token), float(claims["exp"])

    def _key(self, kid: object) -> Any:
        ks = self._keyset
        now = self._clock()
        known = self._pick(ks, kid)
        may_try = now - ks.tried_at >= (self._cooldown_s if ks.failed else self._refetch_min_s)
        if known is not None:
            if now - ks.fetched_at > JWKS_MAX_AGE_S and may_try and not self._fetching.locked():
                self.prefetch()  # refresh an old set without making this call wait for it
            return known
        if ks.keys and not may_try:
            raise UnauthenticatedError("access token is signed by an unknown key")
        if not ks.keys and ks.failed and not may_try:
            raise UnavailableError("cannot fetch the signing keys")
        ks = self._refresh(ks)
        known = self._pick(ks, kid)
        if known is not None:
            return known
        if not ks.keys:
            raise UnavailableError("cannot fetch the signing keys")
        raise UnauthenticatedError("access token is signed by an unknown key")

    @staticmethod
    def _pick(ks: _KeySet, kid: object) -> Any:
        if isinstance(kid, str) and kid:
            return ks.keys.get(kid)
        # A token without kid is accepted only when the set has exactly one key (as jose does).
        return next(iter(ks.keys.values())) if kid is None and len(ks.keys) == 1 else None

    def _refresh(self, seen: _KeySet | None = None) -> _KeySet:
        """Fetches the key set unless another caller is doing it or just did; returns the latest.

        The fetch runs with only self._fetching held, taken without blocking: nobody waits on it.
        """
        if not self._fetching.acquire(blocking=False):
            return self._keyset
        try:
            old = self._keyset
            if seen is not None and old is not seen:
                return old  # another caller fetched since this one looked
            try:
                keys = _parse_jwks(self._fetch(self._url))
            except Exception:  # noqa: BLE001 - any fetch or parse failure: keep the old keys
                self._keyset = _KeySet(old.keys, old.fetched_at, self._clock(), True)
            else:
                now = self._clock()
                self._keyset = _KeySet(keys, now, now, False)
            return self._keyset
        finally:
            self._fetching.release()


def _parse_jwks(doc: dict) -> dict[str, Any]:  # type: ignore[type-arg]
    """The P-256 signing keys of a JWKS by kid; cryptography checks each point is on the curve."""
    keys: dict[str, Any] = {}
    for k in doc.get("keys", []) if isinstance(doc, dict) else []:
        if not isinstance(k, dict) or k.get("kty") != "EC" or k.get("crv") != "P-256":
            continue
        if k.get("alg", "ES256") != "ES256" or k.get("use", "sig") != "sig":
            continue
        try:
            keys[str(k.get("kid", ""))] = ECAlgorithm.from_jwk(k)
        except (jwt.PyJWTError, ValueError, TypeError):
            continue  # an unusable entry does not spoil the rest
    if not keys:
        raise ValueError("the JWKS has no ES256 key")
    return keys


class RejectAll:
    """TokenVerifier used when no JWKS is configured: methods that need a JWT fail closed."""

    def verify(self, token: str) -> User:
        raise UnauthenticatedError("no JWKS configured: access tokens cannot be checked")
