// End-user access token verification: ES256 JWTs from auth, keys from its JWKS (fetched lazily,
// cached, refetched when an unknown kid shows up, i.e. after rotation). Verified tokens are cached
// until they expire so the hot path does one Map lookup instead of an ECDSA verify per call.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { JwtConfig } from "./config.js";
import type { User } from "./context.js";
import { UnauthenticatedError, UnavailableError } from "./errors.js";

/** Verifies a raw access token and returns its user; throws UnauthenticatedError (or UnavailableError when the JWKS cannot be fetched). */
export type JwtVerifier = (token: string) => Promise<User>;

/** Options of createJwtVerifier. */
export interface JwtVerifierOptions {
  /** Max verified tokens kept; default 10000. */
  cacheSize?: number;
}

/** Creates the verifier for `cfg` (jwksUrl or getKey). */
export function createJwtVerifier(cfg: JwtConfig, opts: JwtVerifierOptions = {}): JwtVerifier {
  const cacheSize = opts.cacheSize ?? 10_000;
  const getKey: JWTVerifyGetKey | undefined = cfg.getKey ??
    (cfg.jwksUrl ? createRemoteJWKSet(new URL(cfg.jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 3_000 }) : undefined);
  const cache = new Map<string, { user: User; expMs: number }>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit !== undefined) {
      if (hit.expMs > Date.now()) return hit.user;
      cache.delete(token);
    }
    if (getKey === undefined) throw new UnauthenticatedError("no token verifier configured");
    let payload;
    try {
      ({ payload } = await jwtVerify(token, getKey, { algorithms: ["ES256"], issuer: cfg.issuer, audience: cfg.audience, requiredClaims: ["sub", "exp"] }));
    } catch (err) {
      // The caller's fault (expired, bad signature, malformed): Unauthenticated, with a short reason only.
      if (err instanceof joseErrors.JWTExpired) throw new UnauthenticatedError("token expired");
      if (err instanceof joseErrors.JOSEError && !(err instanceof joseErrors.JWKSTimeout)) throw new UnauthenticatedError("invalid token");
      // JWKS unreachable (auth down) is our outage, not the caller's fault.
      throw new UnavailableError("token keys unavailable", err);
    }
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === "string") : [];
    const user: User = { id: payload.sub!, roles, token };
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(token, { user, expMs: payload.exp! * 1000 });
    return user;
  };
}
