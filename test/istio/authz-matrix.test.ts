// Against `make up MESH=istio`: the authorization matrix of test/security/authz-matrix.test.ts
// (every RPC of gen/shop.binpb × every caller identity of mesh/topology.json), through the real
// sidecars. Each call goes straight to the callee's sidecar inbound listener with the mTLS
// certificate of one mesh identity (the gateway's account plays the edge) and the owner's valid
// token. A caller the topology allows gets OK, as in local mode; any other is refused by the
// sidecar's RBAC filter (the AuthorizationPolicies): PermissionDenied, the same code as local
// mode, with that sidecar's `rbac.denied` +1 and the app's own count of the method unchanged; a
// client without a certificate is refused in the handshake (UNAVAILABLE), as in local mode.
// Local mode's matrix has databases of its own; this one charges the running shop's payment
// directly (keys sec-…), so it refunds what it took and ends with the books checked.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, status, Client as GrpcClient, type ChannelCredentials } from "@grpc/grpc-js";
import { createClient as connectClient } from "@connectrpc/connect";
import { MongoClient } from "mongodb";
import { readCharges } from "@shopmesh/books";
import { createDeadlineInterceptor, createGrpcJsTransport, makeDevCerts } from "@shopmesh/mesh";
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { readSeedProducts } from "../../services/catalog/src/seed/seed.js";
import { allRpcs, identityCells, topology, type Rpc } from "../security/contracts.js";
import { codeName, rawCall } from "../security/raw-call.js";
import { createFixtureFrom, encode, entryOf, password, type Fixture, type TestUser } from "../security/valid-requests.js";
import { repo, withAdminRole } from "../e2e/support.js";
import { invariantsSettled, MONGO_URL } from "../chaos/shop.js";
import { appCounter, sidecar, stat } from "./envoy.js";

const rpcs = allRpcs();
const NS = topology.namespace;
const GATEWAY = { account: "istio-ingressgateway-service-account", namespace: "istio-system" };
const meshCerts = join(repo, ".run", "istio", "certs");
const strangerDir = mkdtempSync(join(tmpdir(), "shopmesh-istio-stranger-"));
let f: Fixture;
const clients = new Map<string, GrpcClient>();
/** Every cell, written to .run/security/authz-matrix-istio.json beside local mode's matrix. */
const cells: { rpc: string; caller: string; expected: string; got: string }[] = [];

/** mTLS credentials of a mesh identity, from istio mode's CA (stranger: a namespace account no policy names). */
function credsOf(identity: string | undefined): ChannelCredentials {
  const ca = readFileSync(join(meshCerts, "ca.pem"));
  if (identity === undefined) return credentials.createSsl(ca);
  const [dir, name] = identity === "stranger" ? [strangerDir, "stranger"] : [meshCerts, identity === "edge" ? GATEWAY.account : identity];
  return credentials.createSsl(ca, readFileSync(join(dir, `${name}-key.pem`)), readFileSync(join(dir, `${name}.pem`)));
}

/** A raw client to `service`'s sidecar inbound listener as `identity`, naming the service as a mesh client does. */
function raw(service: string, identity: string | undefined): GrpcClient {
  const key = `${service}/${identity}`;
  let c = clients.get(key);
  if (c === undefined) {
    const port = topology.services[service]!.port;
    c = new GrpcClient(`${sidecar(service).ip}:${port}`, credsOf(identity), {
      "grpc.ssl_target_name_override": service, "grpc.default_authority": `${service}.${NS}.svc.cluster.local:${port}` });
    clients.set(key, c);
  }
  return c;
}

/** A connect client through the gateway (as the edge), or to payment's sidecar as order. */
function typed<S extends Parameters<typeof connectClient>[0]>(service: S, via: "gateway" | "payment-as-order") {
  const interceptors = [createDeadlineInterceptor({ defaultTimeoutMs: 10_000 })];
  const transport = via === "gateway"
    ? createGrpcJsTransport({ address: "127.0.0.1:8080", credentials: credentials.createInsecure(), interceptors })
    : createGrpcJsTransport({ address: `${sidecar("payment").ip}:${topology.services.payment!.port}`, credentials: credsOf("order"), interceptors,
      channelOptions: { "grpc.ssl_target_name_override": "payment", "grpc.default_authority": `payment.${NS}.svc.cluster.local:${topology.services.payment!.port}` } });
  return connectClient(service, transport);
}

beforeAll(async () => {
  const trust = { trustDomain: "cluster.local", namespace: NS };
  // The mesh's CA signs the stranger, in a directory of its own: .run/istio/certs stays as make up left it.
  for (const file of ["ca.pem", "ca-key.pem"]) writeFileSync(join(strangerDir, file), readFileSync(join(meshCerts, file)));
  makeDevCerts(strangerDir, ["stranger"], trust);

  // Users registered through the gateway; their tokens re-signed with auth's own key and kid, with
  // the admin role, as local mode's fixture signs them (role checks never hide ownership checks).
  const auth = typed(AuthService, "gateway");
  const user = async (name: string): Promise<TestUser> => {
    const email = `${name}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.com`;
    await auth.register({ email, password, displayName: name });
    const login = await auth.login({ email, password });
    return { id: login.user!.id, email, password, token: await withAdminRole(login.accessToken) };
  };
  f = await createFixtureFrom({ owner: await user("owner"), other: await user("other"), productId: readSeedProducts()[0]!.id,
    auth, cart: typed(CartService, "gateway"), order: typed(OrderService, "gateway"), payment: typed(PaymentService, "payment-as-order") });
}, 90_000);

afterAll(() => {
  const dir = join(repo, ".run", "security");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "authz-matrix-istio.json"), `${JSON.stringify({ rpcs: rpcs.length, cells }, null, 2)}\n`);
  for (const c of clients.values()) c.close();
  rmSync(strangerDir, { recursive: true, force: true });
});

const rbacDenied = (service: string) => {
  const s = sidecar(service);
  return stat(s.admin, new RegExp(`^http\\.inbound_${s.ip.replaceAll(".", "\\.")}_${topology.services[service]!.port};\\.rbac\\.denied$`));
};
const startedAt = (rpc: Rpc) => appCounter(rpc.service, "grpc_server_started_total", { grpc_service: rpc.key.split("/")[0]!, grpc_method: rpc.method.name });

test("the matrix covers every service, the Python one included, and the fixture is real", () => {
  expect([...new Set(rpcs.map((r) => r.service))].sort()).toEqual(Object.keys(topology.services).sort());
  expect([f.orderId, f.chargeId].every((x) => x.length > 0)).toBe(true);
});

describe("every RPC × caller identity, through the callee's sidecar (valid token)", () => {
  test.each(rpcs.map((r) => [r.key, r] as const))("%s", async (_key, rpc) => {
    const entry = entryOf(rpc);
    const refusedBody = encode(rpc, await entry.build(f));
    const variants = identityCells(rpc);
    const got: string[] = [];
    const want: string[] = [];
    for (const [variant, as, expected] of variants) {
      const body = expected === status.OK ? encode(rpc, await entry.build(f)) : refusedBody;
      const [denied, started] = [await rbacDenied(rpc.service), await startedAt(rpc)];
      const r = await rawCall(raw(rpc.service, as), rpc.path, body, { streaming: rpc.method.methodKind === "server_streaming", token: f.owner.token, deadlineMs: 10_000 });
      // Refused by Envoy: its RBAC counter moved and the app never started the call.
      const refusedBy = expected === status.PERMISSION_DENIED
        ? ` rbac.denied+${(await rbacDenied(rpc.service)) - denied} app+${(await startedAt(rpc)) - started}` : "";
      got.push(`${variant}: ${codeName(r.code)}${refusedBy}${r.code === expected ? "" : ` (${r.details})`}`);
      cells.push({ rpc: rpc.key, caller: variant, expected: codeName(expected), got: got.at(-1)!.slice(variant.length + 2) });
      want.push(`${variant}: ${codeName(expected)}${expected === status.PERMISSION_DENIED ? " rbac.denied+1 app+0" : ""}`);
    }
    expect(got).toEqual(want);
  }, 60_000);
});

test("leaves the books balanced: every charge the matrix took straight from payment (keys sec-…) is refunded", async () => {
  const mongo = new MongoClient(MONGO_URL, { serverSelectionTimeoutMS: 5000 });
  try {
    const keys = (await mongo.db("shop_payment").collection("charges").find({ key: { $regex: "^sec-" } }, { projection: { key: 1 } }).toArray())
      .map((c) => String(c.key));
    expect(keys.length).toBeGreaterThan(0);
    for (const c of (await readCharges(mongo, keys)).filter((x) => x.status === "SUCCEEDED")) {
      await f.payment.refund({ chargeId: c.id, reason: "authz matrix" }, { headers: { authorization: `Bearer ${f.owner.token}` } });
    }
    expect((await readCharges(mongo, keys)).filter((x) => x.status === "SUCCEEDED")).toEqual([]);
    expect((await invariantsSettled()).violations).toEqual([]);
  } finally {
    await mongo.close();
  }
}, 60_000);
