// Opaque, tamper-proof page tokens. A token carries the last id of its page, and its HMAC also
// covers the query's "scope" (API version and filters), so a token edited by hand, or replayed
// with another filter, fails verification instead of silently listing the wrong thing.
import { createHmac, timingSafeEqual } from "node:crypto";
import { ValidationError } from "@shopmesh/mesh";

/** Encodes and verifies page tokens with one secret. */
export interface PageTokens {
  /** A token resuming after lastId, valid only for the same scope. */
  encode(lastId: string, scope: string): string;
  /** The lastId of a token; throws ValidationError (page_token) when it was not issued for this scope. */
  decode(token: string, scope: string): string;
}

function invalid(): ValidationError {
  return new ValidationError([{ field: "page_token", description: "was not issued by this service for this query" }]);
}

/** Creates the codec; secret is at least 32 bytes of key material from config. */
export function createPageTokens(secret: string): PageTokens {
  if (Buffer.byteLength(secret) < 32) throw new Error("page token secret must be at least 32 bytes");
  const mac = (payload: string, scope: string) =>
    createHmac("sha256", secret).update(payload).update("\n").update(scope).digest();
  return {
    encode(lastId, scope) {
      const payload = Buffer.from(JSON.stringify({ a: lastId })).toString("base64url");
      return `${payload}.${mac(payload, scope).toString("base64url")}`;
    },
    decode(token, scope) {
      const [payload, sig, extra] = token.split(".");
      if (!payload || !sig || extra !== undefined || token.length > 512) throw invalid();
      const expected = mac(payload, scope);
      const given = Buffer.from(sig, "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      const body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { a?: unknown };
      if (typeof body.a !== "string") throw invalid();
      return body.a;
    },
  };
}
