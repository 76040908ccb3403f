// The authorization matrix, generated from the contracts (gen/shop.binpb) and the caller table
// (mesh/topology.json), against the real shop in-process (five TS services and the Python
// recommendation service, over mTLS):
//   every RPC × {no token, bad signature, expired, the bad tokens of bad-tokens.ts (wrong issuer,
//   wrong or no audience, unknown kid, alg none, HS256 keyed with the public key, an ES256 key not
//   in the JWKS), another user's token, valid}, called as an allowed caller; and every RPC × {each
//   allowed caller, each other mesh identity, no client certificate}, with the owner's valid token.
//   Each cell must get exactly the expected gRPC code. Every service checks iss and aud (shop.ts),
//   and valid tokens carry both, as auth's do.
// The matrix is printed and written to .run/security/authz-matrix.json.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { status } from "@grpc/grpc-js";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { badTokens, forge, UNKNOWN_KID, type BadToken } from "./bad-tokens.js";
import { allRpcs, identityCells, topology, type Rpc } from "./contracts.js";
import { codeName, rawCall, type CallResult } from "./raw-call.js";
import { SHOP_AUDIENCE, startShop, type ServiceName, type Shop } from "./shop.js";
import { createFixture, encode, entryOf, type Fixture } from "./valid-requests.js";

const rpcs = allRpcs();
let shop: Shop;
let f: Fixture;
let bad: BadToken[];
const cells: { rpc: string; axis: string; variant: string; expected: string; got: string; details: string }[] = [];

beforeAll(async () => {
  shop = await startShop();
  f = await createFixture(shop);
  bad = await badTokens({
    valid: f.owner.token,
    publicJwk: shop.mesh.jwks.keys[0]!,
    signReal: (change) => shop.mesh.signToken({ sub: f.owner.id, roles: ["admin"], ...change }),
  });
}, 90_000);

afterAll(async () => {
  const dir = path.resolve(import.meta.dirname, "../../.run/security");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "authz-matrix.json"), `${JSON.stringify({ rpcs: rpcs.length, cells }, null, 2)}\n`);
  const rows = new Map<string, string[]>();
  for (const c of cells) rows.set(c.rpc, [...(rows.get(c.rpc) ?? []), `${c.variant}=${c.got}`]);
  console.log(`authz matrix: ${cells.length} cells over ${rpcs.length} RPCs\n${[...rows].map(([r, v]) => `${r}\n    ${v.join(" ")}`).join("\n")}`);
  await shop?.stop();
}, 60_000);

/** Calls rpc as identity `as` with body and token, and records the cell. */
async function cell(rpc: Rpc, axis: string, variant: string, as: string | undefined, body: Buffer, token: string | undefined, expected: number): Promise<CallResult> {
  const r = await rawCall(shop.raw(rpc.service, as), rpc.path, body, { streaming: rpc.method.methodKind === "server_streaming", token, deadlineMs: 10_000 });
  cells.push({ rpc: rpc.key, axis, variant, expected: codeName(expected), got: codeName(r.code), details: r.details });
  return r;
}

describe("the matrix covers what it claims", () => {
  test("every service of the topology, the Python one included, hosts RPCs of the matrix and is running", () => {
    const services = Object.keys(topology.services).sort();
    expect([...new Set(rpcs.map((r) => r.service))].sort()).toEqual(services);
    expect(services).toContain("recommendation");
    for (const s of services) expect(`${s}: ${shop.ports[s as ServiceName] > 0}`).toBe(`${s}: true`);
    // A dead Python process would answer its cells UNAVAILABLE; this says why up front.
    expect(shop.recommendationPid).toBeDefined();
    expect(() => process.kill(shop.recommendationPid!, 0)).not.toThrow();
  });

  test("valid tokens carry the iss and aud every service checks; each bad token is wrong in its one way", () => {
    const valid = decodeJwt(f.owner.token);
    expect([valid.iss, valid.aud]).toEqual([shop.mesh.issuer, SHOP_AUDIENCE]);
    expect(shop.mesh.audience).toBe(SHOP_AUDIENCE);
    const realKid = shop.mesh.jwks.keys[0]!.kid;
    const seen = Object.fromEntries(bad.map((b) => {
      const c = decodeJwt(b.token);
      const h = decodeProtectedHeader(b.token);
      return [b.variant, { alg: h.alg, kid: h.kid, sub: c.sub, iss: c.iss, aud: c.aud ?? null, live: (c.exp ?? 0) * 1000 > Date.now() }];
    }));
    const like = { alg: "ES256", kid: realKid, sub: f.owner.id, iss: shop.mesh.issuer, aud: SHOP_AUDIENCE, live: true };
    expect(seen).toEqual({
      "wrong-issuer": { ...like, iss: "someone-else" },
      "wrong-audience": { ...like, aud: "another-app" },
      "no-audience": { ...like, aud: null },
      "unknown-kid": { ...like, kid: UNKNOWN_KID },
      "alg-none": { ...like, alg: "none" },
      "hs256-public-pem": { ...like, alg: "HS256" },
      "hs256-public-jwk": { ...like, alg: "HS256" },
      "foreign-key-known-kid": like,
      "foreign-key-unknown-kid": { ...like, kid: "foreign-1" },
    });
  });
});

describe("every RPC × end-user token (as an allowed caller)", () => {
  test.each(rpcs.map((r) => [r.key, r] as const))("%s", async (_key, rpc) => {
    const entry = entryOf(rpc);
    const caller = rpc.callers[0]!;
    const expired = await shop.mesh.signToken({ sub: f.owner.id, roles: ["admin"], expiresIn: "-1h" });
    // A token that does not verify is no user: a public method serves the caller as anonymous
    // (mesh/src/server-guard.ts, recommendation/access.py), any other refuses it.
    const anonymous = rpc.public ? status.OK : status.UNAUTHENTICATED;
    const variants: [string, string | undefined, number][] = [
      ["no-token", undefined, anonymous],
      ["bad-signature", forge(f.owner.token), anonymous],
      ["expired", expired, anonymous],
      ...bad.map((b): [string, string, number] => [b.variant, b.token, anonymous]),
      // A public method does not read the user; a private one applies its own business rule.
      ["other-user", f.other.token, rpc.public ? status.OK : entry.otherUser ?? status.OK],
      ["valid", f.owner.token, status.OK],
    ];
    const got: string[] = [];
    for (const [variant, token, expected] of variants) {
      const r = await cell(rpc, "token", variant, caller, encode(rpc, await entry.build(f)), token, expected);
      got.push(`${variant}: ${codeName(r.code)}${r.code === expected ? "" : ` (expected ${codeName(expected)}: ${r.details})`}`);
    }
    expect(got).toEqual(variants.map(([v, , e]) => `${v}: ${codeName(e)}`));
  });
});

describe("every RPC × caller identity (with a valid token)", () => {
  test.each(rpcs.map((r) => [r.key, r] as const))("%s", async (_key, rpc) => {
    const entry = entryOf(rpc);
    // Refused calls never reach the handler, so one body serves them all.
    const refusedBody = encode(rpc, await entry.build(f));
    const variants = identityCells(rpc);
    const got: string[] = [];
    for (const [variant, as, expected] of variants) {
      const body = expected === status.OK ? encode(rpc, await entry.build(f)) : refusedBody;
      const r = await cell(rpc, "identity", variant, as, body, f.owner.token, expected);
      got.push(`${variant}: ${codeName(r.code)}${r.code === expected ? "" : ` (expected ${codeName(expected)}: ${r.details})`}`);
    }
    expect(got).toEqual(variants.map(([v, , e]) => `${v}: ${codeName(e)}`));
  });
});

describe("every RPC with required roles × a valid token without the role", () => {
  const withRoles = rpcs.filter((r) => r.roles.length > 0);

  test("the topology has role-guarded RPCs to check", () => {
    expect(withRoles.map((r) => r.key)).toContain("shop.catalog.v2.CatalogService/UpsertProduct");
  });

  test.each(withRoles.map((r) => [r.key, r] as const))("%s", async (_key, rpc) => {
    const shopper = await shop.mesh.signToken({ sub: f.owner.id, roles: ["shopper"] });
    const body = encode(rpc, await entryOf(rpc).build(f));
    const r = await cell(rpc, "role", "no-role", rpc.callers[0], body, shopper, status.PERMISSION_DENIED);
    expect(codeName(r.code)).toBe("PERMISSION_DENIED");
  });
});
