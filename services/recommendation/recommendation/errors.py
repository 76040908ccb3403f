"""Domain errors. Domain code raises these; server.py alone maps them to gRPC status codes."""

from __future__ import annotations

import grpc

from .rpc_status import FieldViolation


class DomainError(Exception):
    """Base of every error a client may see; `code` is the gRPC status it maps to."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


class ValidationError(DomainError):
    """Bad input: INVALID_ARGUMENT with google.rpc.BadRequest field violations."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        first = violations[0] if violations else FieldViolation("", "invalid request")
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        super().__init__(f"invalid {first.field}: {first.description}{more}")


class UnavailableError(DomainError):
    """A dependency (catalog, Redis) cannot be reached: UNAVAILABLE, safe to retry later."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineError(DomainError):
    """The caller's deadline ran out while waiting on a dependency."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class UnauthenticatedError(DomainError):
    """No valid access token on a method that needs one."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDeniedError(DomainError):
    """The calling workload (mTLS identity) may not call this method."""

    code = grpc.StatusCode.PERMISSION_DENIED


class Violations:
    """Collects every field violation of a request, then raises them together."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def check(self, ok: bool, field: str, description: str) -> bool:
        """Records a violation when `ok` is false; returns `ok` so callers can skip dependent checks."""
        if not ok:
            self.items.append(FieldViolation(field, description))
        return ok

    def raise_if_any(self) -> None:
        """Raises ValidationError when anything was recorded."""
        if self.items:
            raise ValidationError(self.items)
