"""Access rules as mesh/src/server-guard.ts applies them: a role rule passes on any one listed role."""

from __future__ import annotations

import pytest

from recommendation.access import Access, MethodRule
from recommendation.errors import PermissionDeniedError, UnauthenticatedError, UnavailableError
from recommendation.jwt import User


class Context:
    """The two parts of a grpc.ServicerContext that Access reads (pure logic: no transport here)."""

    def __init__(self, token: str | None) -> None:
        self._md = [("authorization", f"Bearer {token}")] if token else []

    def invocation_metadata(self):  # type: ignore[no-untyped-def]
        return self._md

    def auth_context(self):  # type: ignore[no-untyped-def]
        return {}


class Verifier:
    """Tokens are "roles:a,b" (a user with those roles), "down" (keys unavailable) or invalid."""

    def verify(self, token: str) -> User:
        if token == "down":
            raise UnavailableError("token keys unavailable")
        if not token.startswith("roles:"):
            raise UnauthenticatedError("invalid token")
        return User("u1", tuple(r for r in token[6:].split(",") if r), token)


def access(public: bool = False, roles: tuple[str, ...] = ()) -> Access:
    return Access({"/m": MethodRule(frozenset(), public, roles)}, Verifier(), check_peer=False)


@pytest.mark.parametrize("held", ["roles:admin", "roles:ops", "roles:ops,admin", "roles:x,ops"])
def test_any_one_of_the_listed_roles_passes(held: str) -> None:
    assert access(roles=("admin", "ops")).authorize("/m", Context(held)).id == "u1"  # type: ignore[arg-type,union-attr]


@pytest.mark.parametrize("held", ["roles:", "roles:x", "roles:Admin"])
def test_none_of_the_listed_roles_is_permission_denied(held: str) -> None:
    with pytest.raises(PermissionDeniedError, match="admin or ops"):
        access(roles=("admin", "ops")).authorize("/m", Context(held))  # type: ignore[arg-type]


def test_a_public_method_ignores_a_token_it_cannot_check() -> None:
    # server-guard.ts: on a public method any verification error leaves the caller anonymous.
    for token in ("garbage", "down"):
        assert access(public=True).authorize("/m", Context(token)) is None  # type: ignore[arg-type]


def test_keys_unavailable_on_a_protected_method_is_unavailable() -> None:
    with pytest.raises(UnavailableError):
        access().authorize("/m", Context("down"))  # type: ignore[arg-type]
