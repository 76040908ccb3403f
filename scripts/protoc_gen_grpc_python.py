"""A protoc plugin that produces grpcio service stubs (*_pb2_grpc.py) with grpcio-tools.

buf can only run protoc's built-in generators (python, pyi) through protoc_builtin; the grpc stub
generator lives inside grpcio-tools' own protoc. This plugin hands buf's request to that protoc,
through a descriptor set, so the stubs come from the same grpcio-tools as the messages.
"""

import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = descriptor_pb2.FileDescriptorSet(file=request.proto_file)
        set_path = os.path.join(tmp, "in.binpb")
        with open(set_path, "wb") as f:
            f.write(descriptors.SerializeToString())
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        result = subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"--descriptor_set_in={set_path}",
             f"--grpc_python_out={out}", *request.file_to_generate],
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            response.error = result.stderr.strip() or "grpc_tools.protoc failed"
        else:
            for root, _, files in os.walk(out):
                for name in sorted(files):
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8") as f:
                        response.file.add(name=os.path.relpath(path, out), content=f.read())
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
