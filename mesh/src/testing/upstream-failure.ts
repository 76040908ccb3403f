// For tests of a service boundary: the failure a scripted upstream answers with, a secret in
// every part of it (message, google.rpc.ErrorInfo, a trailer), and what the caller of the service
// under test saw of it. docs/architecture.md, "The error map": the secret must reach it nowhere.
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import type { ErrorReason } from "../errors.js";

/** What an upstream knows of itself and must not tell its callers' callers. */
export const UPSTREAM_SECRET = "upstream-secret: mongodb://admin:hunter2@10.9.8.7";

/**
 * The error a scripted upstream throws: `code`, the secret as its message, in a trailer, and in an
 * ErrorInfo (`reason` when given, e.g. a business reason the caller classifies, else an internal one).
 */
export function upstreamFailure(code: Code, reason?: ErrorReason): ConnectError {
  const info = reason ?? { reason: "INTERNAL_STATE", domain: "upstream.shop.local", metadata: { secret: UPSTREAM_SECRET } };
  return new ConnectError(UPSTREAM_SECRET, code, { "x-upstream-debug": UPSTREAM_SECRET }, [
    { desc: ErrorInfoSchema, value: { reason: info.reason, domain: info.domain, metadata: { ...info.metadata, debug: UPSTREAM_SECRET } } },
  ]);
}

/** A failed call as its caller saw it: code name, message, the detail types, and whether the secret shows anywhere. */
export function answerOf(err: ConnectError): { code: string; message: string; details: string[]; leaks: boolean } {
  const parts = [err.rawMessage];
  err.metadata.forEach((v, k) => parts.push(`${k}: ${v}`));
  const details = err.details.map((d) => {
    if ("desc" in d) return d.desc.typeName;
    parts.push(Buffer.from(d.value).toString("latin1"));
    return d.type;
  });
  return { code: Code[err.code], message: err.rawMessage, details, leaks: parts.some((p) => p.includes(UPSTREAM_SECRET)) };
}
