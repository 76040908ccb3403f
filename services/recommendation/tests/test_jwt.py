"""Access JWTs: ES256 signatures made by openssl verify; tampered, expired, unknown ones do not."""

import time

import pytest

from recommendation.errors import UnauthenticatedError
from recommendation.jwt import JwksVerifier


def verifier_for(signer, clock=time.time) -> JwksVerifier:  # type: ignore[no-untyped-def]
    jwks = signer.jwks()
    return JwksVerifier("http://unused", fetch=lambda _url: jwks, clock=clock)


def test_valid_token_gives_the_user(signer) -> None:  # type: ignore[no-untyped-def]
    token = signer.sign({"sub": "u1", "roles": ["admin"], "exp": time.time() + 60})
    user = verifier_for(signer).verify(token)
    assert (user.id, user.roles, user.token) == ("u1", ("admin",), token)


def test_a_remembered_token_is_refused_once_it_expires(signer) -> None:  # type: ignore[no-untyped-def]
    now = [time.time()]
    verifier = verifier_for(signer, clock=lambda: now[0])
    token = signer.sign({"sub": "u1", "exp": now[0] + 60})
    assert verifier.verify(token).id == "u1"
    assert verifier.verify(token).id == "u1"
    now[0] += 60 + 31
    with pytest.raises(UnauthenticatedError, match="expired"):
        verifier.verify(token)


def test_tampered_payload_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    token = signer.sign({"sub": "u1", "exp": time.time() + 60})
    other = signer.sign({"sub": "admin", "exp": time.time() + 60})
    forged = ".".join([token.split(".")[0], other.split(".")[1], token.split(".")[2]])
    with pytest.raises(UnauthenticatedError, match="signature"):
        verifier_for(signer).verify(forged)


def test_expired_token_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    token = signer.sign({"sub": "u1", "exp": 1000})
    with pytest.raises(UnauthenticatedError, match="expired"):
        verifier_for(signer).verify(token)


@pytest.mark.parametrize("token", ["", "a.b", "x.y.z", "eyJhbGciOiJub25lIn0.e30."])
def test_malformed_or_unsigned_tokens_are_refused(signer, token: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnauthenticatedError):
        verifier_for(signer).verify(token)


def test_unknown_kid_is_refused(signer) -> None:  # type: ignore[no-untyped-def]
    token = signer.sign({"sub": "u1", "exp": time.time() + 60}, kid="rotated-away")
    with pytest.raises(UnauthenticatedError):
        verifier_for(signer).verify(token)


def test_unreachable_jwks_refuses_instead_of_crashing(signer) -> None:  # type: ignore[no-untyped-def]
    def down(_url: str) -> dict:  # type: ignore[type-arg]
        raise OSError("connection refused")

    token = signer.sign({"sub": "u1", "exp": time.time() + 60})
    with pytest.raises(UnauthenticatedError, match="signing keys"):
        JwksVerifier("http://127.0.0.1:9", fetch=down).verify(token)
