// The bad end-user tokens of the authorization matrix (test/security/bad-tokens.ts), through the
// running edge (make up): on one non-public RPC of each service the edge reaches, every bad token
// is Unauthenticated; on public RPCs (one TypeScript, one Python) it is ignored and the call is
// served as anonymous. The tokens are made from a real login token and auth's dev signing key
// (its JWT_KEY_FILE, .run/keys/jwt-es256.pem in local mode), whose kid is found in auth's JWKS.
// Istio mode answers two cells differently, for Istio's reasons (support.ts, ISTIO_DIFFERS).
import { randomUUID, createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodeJwt, decodeProtectedHeader, importPKCS8, SignJWT, type JWK, type JWTPayload } from "jose";
import { loadTopology } from "@shopmesh/mesh";
import { badTokens, forge, type BadToken } from "../security/bad-tokens.js";
import { authSigningKeyFile, grpcCode, grpcurl, grpcurlOk, ISTIO_DIFFERS, MESH_MODE, newUser, recorded, type Run } from "./support.js";

const JWKS_URL = "http://127.0.0.1:9091/.well-known/jwks.json";

interface Target {
  method: string;
  body: () => unknown;
  /** What a valid token without any role gets. */
  valid: string;
}

let user: ReturnType<typeof newUser>;
let productId: string;
let bad: BadToken[];
/** A valid token made the same way as the bad ones (auth's key, kid and claims): the control. */
let resigned: string;
/** The same claims, expired an hour ago, signed by auth's own key. */
let expired: string;

/** grpcurl's outcome as a code name: "OK" or the "Code:" it printed. */
/**
 * Calls of `method` every replica of its service has started, from their own metrics. In istio mode a
 * token the sidecar refuses must leave it unchanged: the refusal is Envoy's, before the app.
 */
async function appStarted(method: string): Promise<number> {
  const service = Object.entries(loadTopology().services).find(([, s]) => s.methods[method] !== undefined)![0];
  const [svc, name] = method.split("/") as [string, string];
  let sum = 0;
  for (const p of recorded().filter((x) => x.kind === "service" && (x.name === service || x.name.startsWith(`${service}-`)))) {
    for (const l of (await (await fetch(`http://127.0.0.1:${p.adminPort}/metrics`)).text()).split("\n")) {
      if (l.startsWith("grpc_server_started_total{") && l.includes(`grpc_service="${svc}"`) && l.includes(`grpc_method="${name}"`)) sum += Number(l.split(" ").pop());
    }
  }
  return sum;
}

/** Each cell's outcome; in istio mode also how many calls the app started: 1 for a served cell, 0 for one the sidecar refused. */
async function run(method: string, cells: [string, string | undefined, string][], body: () => unknown): Promise<{ got: string[]; want: string[] }> {
  const got: string[] = [];
  const want: string[] = [];
  for (const [variant, token, expected] of cells) {
    const watch = MESH_MODE === "istio";
    const before = watch ? await appStarted(method) : 0;
    const o = outcome(grpcurl(method, body(), token));
    got.push(`${variant}: ${o}${watch ? ` app+${(await appStarted(method)) - before}` : ""}`);
    want.push(`${variant}: ${expected}${watch ? ` app+${expected === "OK" ? 1 : 0}` : ""}`);
  }
  return { got, want };
}

function outcome(r: Run): string {
  if (r.code === 0) return "OK";
  return grpcCode(r) ?? `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`;
}

// One non-public RPC of each service with one the edge may call (recommendation has none:
// RecordPurchase is order's only), and two public ones, a TypeScript and the Python service's.
const nonPublic: Target[] = [
  { method: "shop.auth.v1.AuthService/GetUser", body: () => ({ userId: user.userId }), valid: "OK" },
  { method: "shop.cart.v1.CartService/GetCart", body: () => ({}), valid: "OK" },
  { method: "shop.order.v1.OrderService/ListOrders", body: () => ({ pageSize: 5 }), valid: "OK" },
  // Authentication comes before the role: a valid shopper token is PermissionDenied (not admin),
  // a bad one Unauthenticated. The product is invalid, so nothing is written even if both passed.
  { method: "shop.catalog.v2.CatalogService/UpsertProduct", body: () => ({ product: { id: `e2e-${randomUUID().slice(0, 8)}` } }),
    valid: "PermissionDenied" },
];
const publicOnes: Target[] = [
  { method: "shop.catalog.v2.CatalogService/GetProduct", body: () => ({ id: productId }), valid: "OK" },
  { method: "shop.recommendation.v1.RecommendationService/ListRecommendations", body: () => ({ maxResults: 3 }), valid: "OK" },
];

beforeAll(async () => {
  user = newUser("tokens");
  productId = grpcurlOk<{ products: { id: string }[] }>("shop.catalog.v2.CatalogService/ListProducts", { pageSize: 1 }).products[0]!.id;
  // The kid auth signs with is the JWKS entry whose point is the dev key's.
  const pem = readFileSync(authSigningKeyFile(), "utf8");
  const own = createPublicKey(createPrivateKey(pem)).export({ format: "jwk" });
  const jwks = await (await fetch(JWKS_URL)).json() as { keys: JWK[] };
  const publicJwk = jwks.keys.find((k) => k.x === own.x && k.y === own.y);
  if (publicJwk === undefined) throw new Error(`${JWKS_URL} does not publish the key of ${authSigningKeyFile()}`);
  const header = decodeProtectedHeader(user.token);
  if (header.kid !== publicJwk.kid) throw new Error(`auth signed the login token with kid ${header.kid}, not the dev key's ${publicJwk.kid}`);
  const claims = decodeJwt(user.token);
  const key = await importPKCS8(pem, "ES256");
  const signReal = async (change: { issuer?: string; audience?: string | null; kid?: string; expired?: boolean }) => {
    const c: JWTPayload = { ...claims };
    if (change.expired) Object.assign(c, { iat: c.iat! - 7200, exp: Math.floor(Date.now() / 1000) - 3600 });
    if (change.issuer !== undefined) c.iss = change.issuer;
    if (change.audience === null) delete c.aud;
    else if (change.audience !== undefined) c.aud = change.audience;
    return new SignJWT(c).setProtectedHeader({ ...header, alg: "ES256", kid: change.kid ?? header.kid }).sign(key);
  };
  resigned = await signReal({});
  expired = await signReal({ expired: true });
  bad = await badTokens({ valid: user.token, publicJwk, signReal });
}, 60_000);

describe("the cells are the topology's", () => {
  test("the non-public targets need a token, the public ones do not, and the edge may call all of them", () => {
    const services = loadTopology().services;
    const rule = (m: string) => Object.values(services).map((s) => s.methods[m]).find((r) => r !== undefined);
    for (const t of [...nonPublic, ...publicOnes]) expect(`${t.method}: ${rule(t.method)?.callers.includes("edge")}`).toBe(`${t.method}: true`);
    expect(nonPublic.map((t) => rule(t.method)?.public === true)).toEqual(nonPublic.map(() => false));
    expect(publicOnes.map((t) => rule(t.method)?.public === true)).toEqual(publicOnes.map(() => true));
    // Every service with a non-public method the edge may call has a cell here.
    const reachable = Object.entries(services)
      .filter(([, s]) => Object.values(s.methods).some((r) => !r.public && r.callers.includes("edge"))).map(([name]) => name).sort();
    expect(reachable).toEqual(["auth", "cart", "catalog", "order"]);
  });
});

describe("bad tokens through the edge", () => {
  // [variant, token, expected]: made when a test runs, after beforeAll.
  // In istio mode RequestAuthentication refuses a bad token on every path, public ones too.
  const variants = (t: Target, isPublic: boolean): [string, string | undefined, string][] => [
    ["no-token", undefined, isPublic ? "OK" : ISTIO_DIFFERS.noTokenCode],
    ["expired", expired, ISTIO_DIFFERS.badTokenCode("expired", isPublic)],
    ["tampered-signature", forge(user.token), ISTIO_DIFFERS.badTokenCode("tampered-signature", isPublic)],
    ...bad.map((b): [string, string, string] => [b.variant, b.token, ISTIO_DIFFERS.badTokenCode(b.variant, isPublic)]),
    ["valid-resigned", resigned, t.valid],
    ["valid", user.token, t.valid],
  ];

  test.each(nonPublic.map((t) => [t.method, t] as const))(`non-public %s: every bad token is ${MESH_MODE === "local" ? "Unauthenticated" : "refused at the sidecar"}`, async (_m, t) => {
    const { got, want } = await run(t.method, variants(t, false), t.body);
    expect(got).toEqual(want);
  }, 120_000);

  test.each(publicOnes.map((t) => [t.method, t] as const))(`public %s: every bad token is ${MESH_MODE === "local" ? "served as anonymous" : "refused at the sidecar"}`, async (_m, t) => {
    const { got, want } = await run(t.method, variants(t, true), t.body);
    expect(got).toEqual(want);
  }, 120_000);
});
