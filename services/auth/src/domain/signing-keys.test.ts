// Key files, JWKS and issued tokens, verified with jose exactly as mesh's JWT interceptor does.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { AUDIENCE, ISSUER, issueAccessToken } from "./access-tokens.js";
import { hashPassword, verifyPassword } from "./passwords.js";
import { createKeyFile, jwks, loadSigningKeys } from "./signing-keys.js";

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "auth-keys-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a missing key is created (owner-only) in local mode and reused after", async () => {
  const file = join(dir, "keys", "jwt.pem");
  const a = await loadSigningKeys({ keyFile: file, createIfMissing: true });
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const b = await loadSigningKeys({ keyFile: file, createIfMissing: true });
  expect(b.current.kid).toBe(a.current.kid);
  expect(a.current.publicJwk).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", kid: a.current.kid });
  expect(a.current.publicJwk).not.toHaveProperty("d");
});

test("production mode refuses to start without the key", async () => {
  await expect(loadSigningKeys({ keyFile: join(dir, "absent.pem"), createIfMissing: false })).rejects.toThrow(/missing/);
});

test("issued tokens verify against the JWKS, also after a rotation", async () => {
  const oldFile = join(dir, "old.pem");
  const newFile = join(dir, "new.pem");
  createKeyFile(oldFile);
  createKeyFile(newFile);
  const before = await loadSigningKeys({ keyFile: oldFile, createIfMissing: false });
  const oldToken = (await issueAccessToken(before.current, { id: "u1", roles: ["admin"] }, 900)).token;

  const after = await loadSigningKeys({ keyFile: newFile, previousKeyFile: oldFile, createIfMissing: false });
  const set = jwks(after);
  expect(set.keys.map((k) => k.kid)).toEqual([after.current.kid, before.current.kid]);
  const issued = await issueAccessToken(after.current, { id: "u2", roles: [] }, 900);
  expect(decodeProtectedHeader(issued.token)).toMatchObject({ alg: "ES256", kid: after.current.kid });

  const getKey = createLocalJWKSet(set);
  const opts = { issuer: ISSUER, audience: AUDIENCE, algorithms: ["ES256"] };
  const fresh = await jwtVerify(issued.token, getKey, opts);
  expect(fresh.payload).toMatchObject({ sub: "u2", roles: [], iss: "shopmesh-auth", aud: "shopmesh" });
  expect(fresh.payload.exp! - fresh.payload.iat!).toBe(900);
  expect((await jwtVerify(oldToken, getKey, opts)).payload).toMatchObject({ sub: "u1", roles: ["admin"] });
  // Once the previous key leaves the JWKS, its tokens stop verifying.
  await expect(jwtVerify(oldToken, createLocalJWKSet(jwks({ current: after.current })), opts)).rejects.toThrow();
});

test("scrypt hashes are salted per user and verify only the right password", async () => {
  const a = await hashPassword("correct horse");
  const b = await hashPassword("correct horse");
  expect(a).not.toBe(b);
  expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
  expect(await verifyPassword("correct horse", a)).toBe(true);
  expect(await verifyPassword("correct horsf", a)).toBe(false);
  expect(await verifyPassword("anything", "not-a-hash")).toBe(false);
});
