// auth end to end in-process: the real server on loopback with mTLS dev certs, real FerretDB and
// Redis, called by the mesh client as the edge. Covers every RPC's success and error paths.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { MongoClient } from "mongodb";
import { Redis } from "ioredis";
import { closeClients, createClient } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { runAdminCli } from "./admin-cli.js";
import { parseAuthConfig } from "./config.js";
import { JWKS_PATH, startServer, stopServer } from "./server.js";

const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
const suffix = randomBytes(4).toString("hex");
const db = `test_auth_${suffix}`;
const prefix = `test-auth-${suffix}:`;
let mesh: TestMesh;
let keyDir: string;
let client: Client<typeof AuthService>;
let adminPort: number;

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

function violations(err: ConnectError): string[] {
  return err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
}

beforeAll(async () => {
  mesh = await createTestMesh();
  keyDir = mkdtempSync(join(tmpdir(), "auth-test-keys-"));
  const config = parseAuthConfig({ PORT: "0", ADMIN_PORT: "0", MONGO_URL: mongoUrl, MONGO_DB: db, REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix, JWT_KEY_FILE: join(keyDir, "jwt.pem"),
    LOGIN_MAX_FAILURES: "3" });
  // The auth server verifies its own tokens (no JWKS_URL in its mesh config).
  const meshConfig = mesh.config("auth");
  const started = await startServer({ ...config, mesh: { ...meshConfig, jwt: {} } });
  adminPort = started.adminPort!;
  client = createClient(AuthService, { target: "auth", address: `127.0.0.1:${started.port}`, config: mesh.config("edge"),
    breaker: false, retry: false });
}, 30_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  mesh.dispose();
  rmSync(keyDir, { recursive: true, force: true });
  const m = await MongoClient.connect(mongoUrl);
  await m.db(db).dropDatabase();
  await m.close();
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
});

test("Register creates a user; duplicate email (any case) gets AlreadyExists", async () => {
  const res = await client.register({ email: "Ada@Example.com", password: "analytical-engine", displayName: "Ada" });
  expect(res.user).toMatchObject({ email: "ada@example.com", displayName: "Ada", roles: [] });
  expect(res.user?.id).toMatch(/^u_/);
  expect(res.user?.createTime).toBeDefined();
  const dup = await codeOf(client.register({ email: "ADA@example.com", password: "another-password" }));
  expect(dup.code).toBe(Code.AlreadyExists);
});

test("Register validates every field at once", async () => {
  const err = await codeOf(client.register({ email: "not-an-email", password: "short", displayName: "x".repeat(101) }));
  expect(err.code).toBe(Code.InvalidArgument);
  expect(violations(err).sort()).toEqual(["display_name", "email", "password"]);
  const missing = await codeOf(client.register({ email: "", password: "long-enough-password" }));
  expect(violations(missing)).toEqual(["email"]);
  const long = await codeOf(client.register({ email: `${"a".repeat(250)}@x.io`, password: "p".repeat(129) }));
  expect(violations(long).sort()).toEqual(["email", "password"]);
});

test("Register never grants a role, whatever the email (issue 14: admin came from a self-chosen email)", async () => {
  // Before issue 14, AUTH_ADMIN_EMAILS=Boss@Example.com in this server's config made this an admin.
  const res = await client.register({ email: "Boss@Example.com", password: "boss-password" });
  expect(res.user?.roles).toEqual([]);
  const login = await client.login({ email: "boss@example.com", password: "boss-password" });
  expect(login.user?.roles).toEqual([]);
  const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${adminPort}${JWKS_PATH}`));
  const { payload } = await jwtVerify(login.accessToken, jwks, { issuer: "shopmesh-auth", audience: "shopmesh" });
  expect(payload.roles).toEqual([]);
});

describe("make admin (admin-cli.ts): the only way to the admin role", () => {
  const cli = (...args: string[]) => runAdminCli(args, { MONGO_URL: mongoUrl, MONGO_DB: db });
  const rolesAfterLogin = async (email: string, password: string) => {
    const login = await client.login({ email, password });
    const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${adminPort}${JWKS_PATH}`));
    return (await jwtVerify(login.accessToken, jwks, { issuer: "shopmesh-auth", audience: "shopmesh" })).payload.roles;
  };

  test("--email creates an admin whose generated password is only in the 0600 file", async () => {
    const file = join(keyDir, "admin", "ops@example.com.password");
    const out = await cli("--email", "Ops@Example.com", "--password-file", file);
    const password = readFileSync(file, "utf8").trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(out).not.toContain(password);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await rolesAfterLogin("ops@example.com", password)).toEqual(["admin"]);
    // The file is never overwritten, and the email is now taken.
    await expect(cli("--email", "other@example.com", "--password-file", file)).rejects.toThrow(/exists already/);
  });

  test("a registered email is never granted by email (it may be squatted), only by the id its owner sees", async () => {
    const reg = await client.register({ email: "squat@example.com", password: "squatter-password" });
    await expect(cli("--email", "squat@example.com", "--password-file", join(keyDir, "admin", "squat.password")))
      .rejects.toThrow(/registered already.*USER_ID/);
    expect(await rolesAfterLogin("squat@example.com", "squatter-password")).toEqual([]);
    await cli("--user-id", reg.user!.id);
    await cli("--user-id", reg.user!.id); // idempotent
    expect(await rolesAfterLogin("squat@example.com", "squatter-password")).toEqual(["admin"]);
  });

  test("bad invocations say why and change nothing", async () => {
    await expect(cli()).rejects.toThrow(/usage/);
    await expect(cli("--email", "x@example.com")).rejects.toThrow(/needs --password-file/);
    await expect(cli("--email", "a@example.com", "--user-id", "u_x", "--password-file", "/tmp/f")).rejects.toThrow(/usage/);
    await expect(cli("--user-id", "u_nobody")).rejects.toThrow(/no user has the id u_nobody/);
    await expect(cli("--email", "not-an-email", "--password-file", join(keyDir, "admin", "bad.password")))
      .rejects.toThrow(/email/);
  });
});

test("Login returns a JWT that verifies against the served JWKS", async () => {
  await client.register({ email: "grace@example.com", password: "compilers-rock" });
  const res = await client.login({ email: "GRACE@example.com", password: "compilers-rock" });
  expect(res.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const jwksRes = await fetch(`http://127.0.0.1:${adminPort}${JWKS_PATH}`);
  expect(jwksRes.status).toBe(200);
  const body = (await jwksRes.json()) as { keys: { kid: string; d?: string }[] };
  expect(body.keys).toHaveLength(1);
  expect(body.keys[0]).not.toHaveProperty("d");
  const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${adminPort}${JWKS_PATH}`));
  const { payload, protectedHeader } = await jwtVerify(res.accessToken, jwks, { issuer: "shopmesh-auth", audience: "shopmesh" });
  expect(protectedHeader).toMatchObject({ alg: "ES256", kid: body.keys[0]!.kid });
  expect(payload.sub).toBe(res.user?.id);
  expect(payload.exp! - payload.iat!).toBe(900);
  expect(Number(res.accessTokenExpireTime?.seconds)).toBe(payload.exp);
});

test("wrong password and unknown email get the same Unauthenticated", async () => {
  await client.register({ email: "linus@example.com", password: "kernel-hacker" });
  const wrong = await codeOf(client.login({ email: "linus@example.com", password: "kernel-hackers" }));
  const unknown = await codeOf(client.login({ email: "nobody@example.com", password: "kernel-hacker" }));
  expect(wrong.code).toBe(Code.Unauthenticated);
  expect(unknown.code).toBe(Code.Unauthenticated);
  expect(unknown.rawMessage).toBe(wrong.rawMessage);
  const missing = await codeOf(client.login({ email: "", password: "" }));
  expect(missing.code).toBe(Code.InvalidArgument);
  expect(violations(missing).sort()).toEqual(["email", "password"]);
});

test("an unknown email costs the same scrypt work as a wrong password (no timing oracle)", async () => {
  await client.register({ email: "t1@example.com", password: "timing-password" });
  await client.register({ email: "t2@example.com", password: "timing-password" });
  const time = async (email: string) => {
    const t = performance.now();
    await codeOf(client.login({ email, password: "not-the-password" }));
    return performance.now() - t;
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const wrong = median([await time("t1@example.com"), await time("t2@example.com"), await time("t1@example.com"),
    await time("t2@example.com")]);
  const unknown = median([await time("u1@example.com"), await time("u2@example.com"), await time("u3@example.com"),
    await time("u4@example.com")]);
  // Without the dummy verification an unknown email answers ~50x faster; allow wide noise on a busy box.
  expect(unknown).toBeGreaterThan(wrong * 0.4);
  // eslint-disable-next-line no-console
  console.log(`auth Login failure: wrong password ${wrong.toFixed(1)} ms, unknown email ${unknown.toFixed(1)} ms (medians)`);
});

test("repeated failures for one email get ResourceExhausted, even with the right password", async () => {
  await client.register({ email: "mallory@example.com", password: "right-password" });
  for (let i = 0; i < 3; i++) {
    expect((await codeOf(client.login({ email: "mallory@example.com", password: `wrong-${i}-password` }))).code)
      .toBe(Code.Unauthenticated);
  }
  const limited = await codeOf(client.login({ email: "Mallory@example.com", password: "right-password" }));
  expect(limited.code).toBe(Code.ResourceExhausted);
  // Other emails are unaffected.
  expect((await client.login({ email: "grace@example.com", password: "compilers-rock" })).accessToken).not.toBe("");
});

test("parallel guesses cannot slip past the limit", async () => {
  await client.register({ email: "eve@example.com", password: "eve-right-password" });
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    codeOf(client.login({ email: "eve@example.com", password: `guess-${i}-password` }))));
  expect(results.filter((e) => e.code === Code.Unauthenticated)).toHaveLength(3);
  expect(results.filter((e) => e.code === Code.ResourceExhausted)).toHaveLength(7);
});

test("Refresh rotates; reusing a rotated token revokes the whole family", async () => {
  await client.register({ email: "alan@example.com", password: "turing-machine" });
  const login = await client.login({ email: "alan@example.com", password: "turing-machine" });
  const r1 = await client.refresh({ refreshToken: login.refreshToken });
  expect(r1.refreshToken).not.toBe(login.refreshToken);
  expect(r1.accessToken).not.toBe("");
  const r2 = await client.refresh({ refreshToken: r1.refreshToken });
  // The first token again: reuse. It fails, and so does the newest token of its family.
  expect((await codeOf(client.refresh({ refreshToken: login.refreshToken }))).code).toBe(Code.Unauthenticated);
  expect((await codeOf(client.refresh({ refreshToken: r2.refreshToken }))).code).toBe(Code.Unauthenticated);
  // A separate login is a separate family and still works.
  const other = await client.login({ email: "alan@example.com", password: "turing-machine" });
  expect((await client.refresh({ refreshToken: other.refreshToken })).refreshToken).not.toBe("");
  expect((await codeOf(client.refresh({ refreshToken: "made-up" }))).code).toBe(Code.Unauthenticated);
  const empty = await codeOf(client.refresh({ refreshToken: "" }));
  expect(empty.code).toBe(Code.InvalidArgument);
  expect(violations(empty)).toEqual(["refresh_token"]);
});

test("Logout revokes the family and is idempotent", async () => {
  const login = await client.login({ email: "alan@example.com", password: "turing-machine" });
  const rotated = await client.refresh({ refreshToken: login.refreshToken });
  await client.logout({ refreshToken: rotated.refreshToken });
  await client.logout({ refreshToken: rotated.refreshToken });
  await client.logout({ refreshToken: "never-issued" });
  expect((await codeOf(client.refresh({ refreshToken: rotated.refreshToken }))).code).toBe(Code.Unauthenticated);
  expect((await codeOf(client.logout({ refreshToken: "" }))).code).toBe(Code.InvalidArgument);
});

test("GetUser returns only the caller's own user", async () => {
  const ada = await client.login({ email: "ada@example.com", password: "analytical-engine" });
  const headers = { authorization: `Bearer ${ada.accessToken}` };
  expect((await client.getUser({}, { headers })).user).toMatchObject({ id: ada.user!.id, email: "ada@example.com" });
  expect((await client.getUser({ userId: ada.user!.id }, { headers })).user?.email).toBe("ada@example.com");
  const grace = await client.login({ email: "grace@example.com", password: "compilers-rock" });
  expect((await codeOf(client.getUser({ userId: grace.user!.id }, { headers }))).code).toBe(Code.NotFound);
  expect((await codeOf(client.getUser({}))).code).toBe(Code.Unauthenticated);
  expect((await codeOf(client.getUser({}, { headers: { authorization: "Bearer not.a.jwt" } })))
    .code).toBe(Code.Unauthenticated);
  // A token from another issuer (mesh's test signer) is not one of auth's.
  const foreign = await mesh.signToken({ sub: ada.user!.id });
  expect((await codeOf(client.getUser({}, { headers: { authorization: `Bearer ${foreign}` } }))).code)
    .toBe(Code.Unauthenticated);
});
