"""google.rpc.Status with BadRequest details, through grpcio-status and googleapis-common-protos.

Importing error_details_pb2 registers google/rpc/error_details.proto in the default descriptor
pool, which reflection serves: grpcurl then prints the details by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from grpc_status import rpc_status
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: a path like "items[2].quantity" and why it is bad."""

    field: str
    description: str


def bad_request_trailer(code: int, message: str, violations: list[FieldViolation]) -> tuple[tuple[str, bytes], ...]:
    """The trailing metadata (grpc-status-details-bin) of a google.rpc.Status carrying one BadRequest."""
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in violations
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad)
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[detail])).trailing_metadata


def decode_bad_request(details_bin: bytes) -> tuple[int, str, list[FieldViolation]]:
    """Parses grpc-status-details-bin back into (code, message, field violations)."""
    status = status_pb2.Status.FromString(details_bin)
    out: list[FieldViolation] = []
    for d in status.details:
        if d.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            d.Unpack(bad)
            out.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
    return status.code, status.message, out
