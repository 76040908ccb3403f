// W3C trace context (https://www.w3.org/TR/trace-context/): parse the inbound traceparent, start a
// server span id, and format the traceparent for outbound calls. Ids come from a pooled random buffer
// so the hot path does not call into the CSPRNG per request.
import { randomFillSync } from "node:crypto";
import { inboundCall } from "./context.js";

/** A parsed traceparent. */
export interface TraceParent {
  /** 32 lowercase hex chars, not all zero. */
  traceId: string;
  /** 16 lowercase hex chars, not all zero: the caller's span. */
  parentId: string;
  /** 2 hex chars; "01" = sampled. */
  flags: string;
}

const traceparentRe = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const zeroTrace = "0".repeat(32);
const zeroSpan = "0".repeat(16);

/** Parses a W3C traceparent header; undefined when absent or invalid (then a new trace starts). */
export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (header === undefined) return undefined;
  const m = traceparentRe.exec(header.trim());
  if (m === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  // Version ff is forbidden; version 00 must have nothing after the flags.
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === zeroTrace || parentId === zeroSpan) return undefined;
  return { traceId, parentId, flags };
}

/** Formats a version-00 traceparent. */
export function formatTraceparent(traceId: string, spanId: string, flags: string): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

const pool = Buffer.alloc(8192);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString("hex", poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/** A new random 16-byte trace id (hex). */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new random 8-byte span id (hex). */
export function newSpanId(): string {
  return randomHex(8);
}

/** The traceparent an outbound call made inside the current inbound call should send (a child span), if any. */
export function outboundTraceparent(): string | undefined {
  const call = inboundCall();
  if (call === undefined) return undefined;
  return formatTraceparent(call.traceId, newSpanId(), call.traceFlags);
}
