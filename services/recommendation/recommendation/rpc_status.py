"""google.rpc.Status and BadRequest, encoded without googleapis-common-protos.

The venv has no google.rpc Python types (grpcio-status is not pinned), so the two messages are
declared here from their published field numbers in a private descriptor pool: a private pool
cannot clash with the real google/rpc files if some other package loads them later.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

_TYPE_URL_PREFIX = "type.googleapis.com/"
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)
    f = descriptor_pb2.FileDescriptorProto(
        name="shopmesh/google_rpc_subset.proto",
        package="google.rpc",
        syntax="proto3",
        dependency=["google/protobuf/any.proto"],
    )
    T = descriptor_pb2.FieldDescriptorProto
    status = f.message_type.add(name="Status")
    status.field.add(name="code", number=1, type=T.TYPE_INT32, label=T.LABEL_OPTIONAL)
    status.field.add(name="message", number=2, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    status.field.add(
        name="details", number=3, type=T.TYPE_MESSAGE, label=T.LABEL_REPEATED,
        type_name=".google.protobuf.Any",
    )
    bad = f.message_type.add(name="BadRequest")
    fv = bad.nested_type.add(name="FieldViolation")
    fv.field.add(name="field", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    fv.field.add(name="description", number=2, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    bad.field.add(
        name="field_violations", number=1, type=T.TYPE_MESSAGE, label=T.LABEL_REPEATED,
        type_name=".google.rpc.BadRequest.FieldViolation",
    )
    pool.Add(f)
    return pool


_POOL = _build_pool()
Status = message_factory.GetMessageClass(_POOL.FindMessageTypeByName("google.rpc.Status"))
BadRequest = message_factory.GetMessageClass(_POOL.FindMessageTypeByName("google.rpc.BadRequest"))


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: a path like "items[2].quantity" and why it is bad."""

    field: str
    description: str


def encode_bad_request(code: int, message: str, violations: list[FieldViolation]) -> bytes:
    """Serializes a google.rpc.Status carrying one BadRequest, for grpc-status-details-bin."""
    bad = BadRequest()
    for v in violations:
        bad.field_violations.add(field=v.field, description=v.description)
    status = Status(code=code, message=message)
    # add() builds the Any of the private pool; an any_pb2.Any would be a foreign class here.
    status.details.add(
        type_url=_TYPE_URL_PREFIX + "google.rpc.BadRequest", value=bad.SerializeToString()
    )
    return status.SerializeToString()


def decode_bad_request(details_bin: bytes) -> tuple[int, str, list[FieldViolation]]:
    """Parses grpc-status-details-bin back into (code, message, field violations)."""
    status = Status.FromString(details_bin)
    out: list[FieldViolation] = []
    for d in status.details:
        if d.type_url.endswith("/google.rpc.BadRequest"):
            bad = BadRequest.FromString(d.value)
            out.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
    return status.code, status.message, out
