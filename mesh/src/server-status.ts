// Turns a ConnectError into the grpc-js status a server sends: code, message, and google.rpc.Status in
// grpc-status-details-bin so clients in every language can read typed details (e.g. BadRequest).
import { Metadata, type StatusObject } from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { ConnectError } from "@connectrpc/connect";

const typeUrlPrefix = "type.googleapis.com/";

/** Encodes google.rpc.Status {int32 code=1; string message=2; repeated google.protobuf.Any details=3}. */
export function encodeRpcStatus(err: ConnectError): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int32(err.code);
  if (err.rawMessage !== "") w.tag(2, WireType.LengthDelimited).string(err.rawMessage);
  for (const d of err.details) {
    // Outgoing details are messages to serialize; incoming ones (relayed from upstream) are bytes already.
    const typeName = "desc" in d ? d.desc.typeName : d.type;
    const value = "desc" in d ? toBinary(d.desc, create(d.desc, d.value)) : d.value;
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(typeUrlPrefix + typeName);
    w.tag(2, WireType.LengthDelimited).bytes(value);
    w.join();
  }
  return w.finish();
}

// Headers the transport owns; an error's metadata must not override them.
const reservedTrailers = new Set(["grpc-status", "grpc-message", "grpc-status-details-bin", "content-type", "te"]);

/** Builds the grpc-js status (with trailers) for a ConnectError; `extra` are handler response trailers. */
export function statusFromConnectError(err: ConnectError, extra?: Headers): Partial<StatusObject> {
  const metadata = new Metadata();
  if (extra !== undefined) copyHeaders(extra, metadata);
  copyHeaders(err.metadata, metadata);
  if (err.details.length > 0) metadata.set("grpc-status-details-bin", Buffer.from(encodeRpcStatus(err)));
  return { code: err.code as number, details: err.rawMessage, metadata };
}

/** Copies fetch Headers into grpc-js Metadata (binary `-bin` values are base64 in Headers). */
export function copyHeaders(from: Headers, to: Metadata): void {
  from.forEach((value, key) => {
    if (reservedTrailers.has(key)) return;
    if (key.endsWith("-bin")) {
      for (const part of value.split(",")) to.add(key, Buffer.from(part.trim(), "base64"));
    } else {
      to.add(key, value);
    }
  });
}
