// The bad end-user tokens of issue 14, each wrong in one way only: signed by the real key with a
// wrong claim or kid, or with a forged header (alg none, HS256 keyed with the public key: the
// key-confusion attack), or by an ES256 key that is not in the JWKS. Shared by the authorization
// matrix (test/security/authz-matrix.test.ts, in-process) and test/e2e/token-cells.test.ts (through
// the edge), so both send exactly the same variants.
import { createHmac, createPublicKey } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT, type JWK } from "jose";

/** Where the variants come from: a valid token and the real key that signs it. */
export interface TokenSource {
  /** A valid token: the real key and kid, the right iss and aud, not expired. */
  valid: string;
  /** The public key of the valid token, as its JWKS publishes it. */
  publicJwk: JWK;
  /** Signs a token like the valid one with the real key, changing only what is given (audience null: none). */
  signReal(change: { issuer?: string; audience?: string | null; kid?: string }): Promise<string>;
}

/** One bad token and what is wrong with it. */
export interface BadToken {
  variant: string;
  token: string;
  defect: string;
}

/** A kid that no JWKS of this project holds. */
export const UNKNOWN_KID = "not-in-the-jwks";

/** A token whose signature bytes are changed: same header and claims, invalid ES256 signature. */
export function forge(token: string): string {
  const [h, p, s] = token.split(".") as [string, string, string];
  const sig = Buffer.from(s, "base64url");
  sig[10] = sig[10]! ^ 0xff;
  return `${h}.${p}.${sig.toString("base64url")}`;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** A compact JWS with `header` over the valid token's own payload segment, HMAC-SHA256 with `secret`. */
function hs256(header: object, payloadSegment: string, secret: Buffer | string): string {
  const input = `${b64(header)}.${payloadSegment}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** Every bad-token variant, in a fixed order. */
export async function badTokens(src: TokenSource): Promise<BadToken[]> {
  const [, payloadSegment] = src.valid.split(".") as [string, string, string];
  const claims = decodeJwt(src.valid);
  const { kid } = decodeProtectedHeader(src.valid);
  if (typeof kid !== "string" || kid === "") throw new Error("the valid token has no kid");
  if (claims.iss === undefined || claims.aud === undefined) throw new Error("the valid token must carry iss and aud, as auth's do");
  const { kty, crv, x, y } = src.publicJwk;
  // The public key as an attacker finds it: the JWK members (the JWKS entry's JSON) and its PEM.
  const jwkBytes = JSON.stringify(src.publicJwk);
  const pem = createPublicKey({ key: { kty: kty!, crv: crv!, x: x!, y: y! }, format: "jwk" }).export({ type: "spki", format: "pem" }) as string;
  const { privateKey: foreign } = await generateKeyPair("ES256");
  const signForeign = (k: string) => new SignJWT({ ...claims }).setProtectedHeader({ alg: "ES256", kid: k }).sign(foreign);
  return [
    { variant: "wrong-issuer", token: await src.signReal({ issuer: "someone-else" }), defect: "real key and kid, iss someone-else" },
    { variant: "wrong-audience", token: await src.signReal({ audience: "another-app" }), defect: "real key and kid, aud another-app" },
    { variant: "no-audience", token: await src.signReal({ audience: null }), defect: "real key and kid, no aud claim" },
    { variant: "unknown-kid", token: await src.signReal({ kid: UNKNOWN_KID }), defect: "real key, a kid the JWKS does not hold" },
    { variant: "alg-none", token: `${b64({ alg: "none", typ: "JWT", kid })}.${payloadSegment}.`, defect: "alg none, no signature" },
    { variant: "hs256-public-pem", token: hs256({ alg: "HS256", typ: "JWT", kid }, payloadSegment, pem),
      defect: "HS256 keyed with the public key's PEM (key confusion)" },
    { variant: "hs256-public-jwk", token: hs256({ alg: "HS256", typ: "JWT", kid }, payloadSegment, jwkBytes),
      defect: "HS256 keyed with the public key's JWK JSON (key confusion)" },
    { variant: "foreign-key-known-kid", token: await signForeign(kid), defect: "ES256 by a key not in the JWKS, with the JWKS's kid" },
    { variant: "foreign-key-unknown-kid", token: await signForeign("foreign-1"), defect: "ES256 by a key not in the JWKS, with a kid it does not hold" },
  ];
}
