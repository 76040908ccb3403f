"""Server reflection on both grpc.reflection.v1 and v1alpha.

grpcio-reflection 1.85 ships only v1alpha. v1 has the same messages and field numbers under
another package, so the v1alpha servicer answers v1 calls byte for byte; v1's file descriptor is
derived from v1alpha's and added to the pool so reflection can describe itself under both names.
"""

from __future__ import annotations

from typing import Sequence

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1_SERVICE = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE = "grpc.reflection.v1alpha.ServerReflection"


def _add_v1_descriptor() -> None:
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(V1_SERVICE)
        return  # a grpcio-reflection with real v1 types is installed
    except KeyError:
        pass
    fdp = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(fdp)
    fdp.name = "grpc/reflection/v1/reflection.proto"
    fdp.package = "grpc.reflection.v1"
    fdp.options.Clear()
    for msg in fdp.message_type:
        for field in msg.field:
            if field.HasField("type_name"):  # assigning "" would mark scalars as typed
                field.type_name = field.type_name.replace(".grpc.reflection.v1alpha.", ".grpc.reflection.v1.")
    for svc in fdp.service:
        for m in svc.method:
            m.input_type = m.input_type.replace(".grpc.reflection.v1alpha.", ".grpc.reflection.v1.")
            m.output_type = m.output_type.replace(".grpc.reflection.v1alpha.", ".grpc.reflection.v1.")
    pool.Add(fdp)


def enable_reflection(server: grpc.Server, service_names: Sequence[str]) -> None:
    """Serves reflection v1 and v1alpha for the given services plus health and reflection."""
    _add_v1_descriptor()
    names = [*service_names, V1ALPHA_SERVICE, V1_SERVICE]
    servicer = reflection.ReflectionServicer(names)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(V1ALPHA_SERVICE, {"ServerReflectionInfo": handler}),
            grpc.method_handlers_generic_handler(V1_SERVICE, {"ServerReflectionInfo": handler}),
        )
    )
