// The ES256 signing key and the JWKS. The private key lives in a PEM file outside git: created on
// first start in local mode, mounted from a Secret in production.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";

/** A loaded signing key with its key id (the RFC 7638 thumbprint of its public JWK). */
export interface SigningKey {
  /** Key id, written into each JWT header and the JWKS. */
  kid: string;
  /** The private key, for signing. */
  privateKey: KeyObject;
  /** The public JWK, as published. */
  publicJwk: JWK;
}

/** Where the keys come from, and whether a missing key may be created. */
export interface SigningKeyOptions {
  /** PEM file of the current key. */
  keyFile: string;
  /** PEM file of the previous key, still published so tokens it signed verify until they expire. */
  previousKeyFile?: string;
  /** Create keyFile when it is missing (local mode only; production must fail instead). */
  createIfMissing: boolean;
}

/** Reads a PKCS#8 PEM and derives its public JWK and thumbprint kid. */
async function loadKey(file: string): Promise<SigningKey> {
  const privateKey = createPrivateKey(readFileSync(file));
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error(`${file}: not a P-256 EC key (ES256 needs one)`);
  }
  const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, "sha256");
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: "ES256", use: "sig" } };
}

/** Writes a fresh P-256 key as PKCS#8 PEM, readable by the owner only. */
export function createKeyFile(file: string): void {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // "wx" fails if another process created it meanwhile, so two starting instances never overwrite each other.
  writeFileSync(file, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
}

/** Loads the current (and previous) signing key; creates the current one only when allowed. */
export async function loadSigningKeys(opts: SigningKeyOptions): Promise<{ current: SigningKey; previous?: SigningKey }> {
  if (!existsSync(opts.keyFile)) {
    if (!opts.createIfMissing) throw new Error(`JWT signing key ${opts.keyFile} is missing`);
    try {
      createKeyFile(opts.keyFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  const current = await loadKey(opts.keyFile);
  const previous = opts.previousKeyFile ? await loadKey(opts.previousKeyFile) : undefined;
  return previous ? { current, previous } : { current };
}

/** The JSON Web Key Set: the current public key first, then the previous one during a rotation. */
export function jwks(keys: { current: SigningKey; previous?: SigningKey }): { keys: JWK[] } {
  return { keys: keys.previous ? [keys.current.publicJwk, keys.previous.publicJwk] : [keys.current.publicJwk] };
}
