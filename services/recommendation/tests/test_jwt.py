"""Access JWTs, the rules of mesh/src/jwt.ts: ES256 only, sub and exp required, issuer and audience
when configured. Tokens are signed by openssl, an implementation independent of the one under test."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time

import pytest

from conftest import JwksHttp, JwtSigner, b64, free_port, unsigned
from recommendation.errors import UnauthenticatedError, UnavailableError
from recommendation.jwt import JwksVerifier

ISS, AUD = "shopmesh-auth", "shopmesh"


def claims(**over: object) -> dict:  # type: ignore[type-arg]
    """What auth puts in an access token (services/auth/src/domain/access-tokens.ts)."""
    now = int(time.time())
    c: dict[str, object] = {"sub": "u1", "roles": ["admin"], "iss": ISS, "aud": AUD, "iat": now, "exp": now + 60}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def verifier_for(signer: JwtSigner, issuer: str | None = ISS, audience: str | None = AUD, **kw) -> JwksVerifier:  # type: ignore[no-untyped-def]
    # The fetch function is the unit seam; the tests further down fetch over real HTTP.
    jwks = signer.jwks()
    return JwksVerifier("http://unused", issuer=issuer, audience=audience, fetch=lambda _url: jwks, **kw)


def test_valid_token_gives_the_user(signer) -> None:  # type: ignore[no-untyped-def]
    token = signer.sign(claims())
    user = verifier_for(signer).verify(token)
    assert (user.id, user.roles, user.token) == ("u1", ("admin",), token)


def test_wrong_issuer_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnauthenticatedError, match="issuer"):
        verifier_for(signer).verify(signer.sign(claims(iss="someone-else")))
    with pytest.raises(UnauthenticatedError, match="iss"):
        verifier_for(signer).verify(signer.sign(claims(iss=None)))


def test_wrong_audience_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnauthenticatedError, match="audience"):
        verifier_for(signer).verify(signer.sign(claims(aud="another-app")))
    with pytest.raises(UnauthenticatedError, match="aud"):
        verifier_for(signer).verify(signer.sign(claims(aud=None)))
    # aud may be a list (RFC 7519 4.1.3): one entry must match.
    assert verifier_for(signer).verify(signer.sign(claims(aud=["x", AUD]))).id == "u1"


def test_issuer_and_audience_are_not_checked_when_not_configured(signer) -> None:  # type: ignore[no-untyped-def]
    # As mesh/src/config.ts: JWT_ISSUER / JWT_AUDIENCE empty means no check, even if the token has them.
    v = verifier_for(signer, issuer=None, audience=None)
    assert v.verify(signer.sign(claims(iss="anyone", aud="anything"))).id == "u1"
    assert v.verify(signer.sign(claims(iss=None, aud=None))).id == "u1"


def test_expired_token_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnauthenticatedError, match="expired"):
        verifier_for(signer).verify(signer.sign(claims(exp=int(time.time()) - 1)))


def test_a_remembered_token_is_refused_once_it_expires(signer) -> None:  # type: ignore[no-untyped-def]
    v = verifier_for(signer)
    exp = int(time.time()) + 2
    token = signer.sign(claims(exp=exp))
    assert v.verify(token).id == "u1"
    assert v.verify(token).id == "u1"  # from the cache
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    with pytest.raises(UnauthenticatedError, match="expired"):
        v.verify(token)


@pytest.mark.parametrize("missing", ["sub", "exp"])
def test_sub_and_exp_are_required(signer, missing: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnauthenticatedError, match=missing):
        verifier_for(signer).verify(signer.sign(claims(**{missing: None})))


def test_alg_none_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    for alg in ("none", "None", "NONE"):
        token = unsigned({"alg": alg, "typ": "JWT", "kid": signer.kid}, claims()) + "."
        with pytest.raises(UnauthenticatedError, match="ES256"):
            verifier_for(signer).verify(token)


def test_hs256_signed_with_the_public_key_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    # The classic key-confusion attack: the public key (PEM, or the JWK's JSON) as an HMAC secret.
    for secret in (signer.public_pem(), signer.public_pem().strip()):
        signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": signer.kid}, claims())
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(UnauthenticatedError, match="ES256"):
            verifier_for(signer).verify(f"{signing_input}.{b64(mac)}")


def test_a_token_signed_by_a_key_not_in_the_jwks_is_refused(signer, other_signer) -> None:  # type: ignore[no-untyped-def]
    v = verifier_for(signer)
    with pytest.raises(UnauthenticatedError):
        v.verify(other_signer.sign(claims()))  # its own kid, unknown to the JWKS
    with pytest.raises(UnauthenticatedError, match="signature"):
        v.verify(other_signer.sign(claims(), kid=signer.kid))  # claims the known kid


def test_tampered_signature_or_payload_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    token = signer.sign(claims())
    head, body, sig = token.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    with pytest.raises(UnauthenticatedError, match="signature"):
        verifier_for(signer).verify(f"{head}.{body}.{flipped}")
    other = signer.sign(claims(sub="admin"))
    with pytest.raises(UnauthenticatedError, match="signature"):
        verifier_for(signer).verify(f"{head}.{other.split('.')[1]}.{sig}")


@pytest.mark.parametrize("token", ["", "a.b", "x.y.z", "eyJhbGciOiJFUzI1NiJ9.e30.", "a.b.c.d"])
def test_malformed_tokens_are_refused(signer, token: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnauthenticatedError):
        verifier_for(signer).verify(token)


def test_the_verified_cache_is_bounded(signer) -> None:  # type: ignore[no-untyped-def]
    v = verifier_for(signer, cache_size=3)
    tokens = [signer.sign(claims(sub=f"u{i}")) for i in range(5)]
    for t in tokens:
        v.verify(t)
    assert v.cached() == 3


# --- the JWKS over real HTTP ---------------------------------------------------------------


def test_keys_are_fetched_over_http_and_refetched_for_a_new_kid(signer, other_signer, jwks_http) -> None:  # type: ignore[no-untyped-def]
    v = JwksVerifier(jwks_http.url, issuer=ISS, audience=AUD, refetch_min_s=0)
    assert v.verify(signer.sign(claims())).id == "u1"
    # auth rotates: the new key joins the set; a token with its kid makes us fetch again.
    jwks_http.doc = {"keys": signer.jwks()["keys"] + other_signer.jwks()["keys"]}
    assert v.verify(other_signer.sign(claims(sub="u2"))).id == "u2"
    assert jwks_http.requests == 2


def test_unknown_kids_refetch_at_most_once_per_window(signer, other_signer, jwks_http) -> None:  # type: ignore[no-untyped-def]
    now = [1000.0]
    v = JwksVerifier(jwks_http.url, issuer=ISS, audience=AUD, clock=lambda: now[0], refetch_min_s=30)
    assert v.verify(signer.sign(claims())).id == "u1"
    for i in range(20):  # junk kids must not make us hammer auth
        with pytest.raises(UnauthenticatedError):
            v.verify(other_signer.sign(claims(), kid=f"junk-{i}"))
    assert jwks_http.requests == 1
    now[0] += 31
    with pytest.raises(UnauthenticatedError):
        v.verify(other_signer.sign(claims(), kid="junk-late"))
    assert jwks_http.requests == 2


def test_jwks_refusing_connections_is_unavailable(signer) -> None:  # type: ignore[no-untyped-def]
    # mesh/src/jwt.ts: keys that cannot be fetched are our outage (UNAVAILABLE), not the caller's fault.
    v = JwksVerifier(f"http://127.0.0.1:{free_port()}/.well-known/jwks.json", issuer=ISS, audience=AUD)
    with pytest.raises(UnavailableError, match="keys"):
        v.verify(signer.sign(claims()))


def test_a_failed_fetch_is_remembered_for_a_cooldown(signer, jwks_http) -> None:  # type: ignore[no-untyped-def]
    now = [1000.0]
    jwks_http.mode = "error"
    v = JwksVerifier(jwks_http.url, issuer=ISS, audience=AUD, clock=lambda: now[0], failure_cooldown_s=5)
    token = signer.sign(claims())
    for _ in range(10):
        with pytest.raises(UnavailableError):
            v.verify(token)
    assert jwks_http.requests == 1
    # auth is back; after the cooldown the next call fetches and succeeds.
    jwks_http.mode = "ok"
    now[0] += 5
    assert v.verify(token).id == "u1"
    assert jwks_http.requests == 2


def test_known_keys_are_kept_when_a_refresh_fails(signer, jwks_http) -> None:  # type: ignore[no-untyped-def]
    now = [1000.0]
    v = JwksVerifier(jwks_http.url, issuer=ISS, audience=AUD, clock=lambda: now[0])
    assert v.verify(signer.sign(claims())).id == "u1"
    jwks_http.mode = "error"
    now[0] += 3600  # far past the key set's max age: refreshed in the background, and that fails
    assert v.verify(signer.sign(claims(sub="u2"))).id == "u2"
    end = time.monotonic() + 5
    while jwks_http.requests < 2 and time.monotonic() < end:
        time.sleep(0.01)
    assert jwks_http.requests == 2
    assert v.verify(signer.sign(claims(sub="u3"))).id == "u3"


def test_a_hanging_jwks_does_not_serialize_concurrent_calls(signer, jwks_http) -> None:  # type: ignore[no-untyped-def]
    # auth accepts the connection and never answers: one call waits for the fetch timeout (2 s),
    # the others fail fast instead of queueing behind it, and later calls fail fast in the cooldown.
    jwks_http.mode = "hang"
    v = JwksVerifier(jwks_http.url, issuer=ISS, audience=AUD)
    n = 8
    tokens = [signer.sign(claims(sub=f"u{i}")) for i in range(n)]
    took: list[float] = []
    errors: list[BaseException] = []

    def call(token: str) -> None:
        start = time.monotonic()
        try:
            v.verify(token)
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)
        took.append(time.monotonic() - start)

    start = time.monotonic()
    threads = [threading.Thread(target=call, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=n * 2 + 5)
    total = time.monotonic() - start
    assert len(errors) == n and all(isinstance(e, UnavailableError) for e in errors), errors
    assert total < 3.5, (total, sorted(took))
    assert sum(1 for t in took if t > 0.5) <= 1, sorted(took)
    start = time.monotonic()
    with pytest.raises(UnavailableError):
        v.verify(tokens[0])
    assert time.monotonic() - start < 0.1
    assert jwks_http.requests == 1
