// Issues ES256 access JWTs. Every other service verifies them against the JWKS, so the claims
// here (iss, aud, sub, roles) are the contract mesh's JWT interceptor checks.
import { SignJWT } from "jose";
import type { SigningKey } from "./signing-keys.js";

/** Issuer claim of every access token. */
export const ISSUER = "shopmesh-auth";
/** Audience claim of every access token. */
export const AUDIENCE = "shopmesh";

/** A signed token and when it expires. */
export interface AccessToken {
  /** The compact JWT. */
  token: string;
  /** Expiry time. */
  expiresAt: Date;
}

/** Signs an access token for a user with the current key. */
export async function issueAccessToken(key: SigningKey, user: { id: string; roles: string[] }, ttlSeconds: number,
  now = new Date()): Promise<AccessToken> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({ roles: user.roles })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
    .setSubject(user.id)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  return { token, expiresAt: new Date(exp * 1000) };
}
