// Tracing on, the services whose store clients are their own (auth's and catalog's MongoClient,
// catalog's ioredis client; the rest use mesh's connectMongo and openRedis, proved in
// mesh/src/tracing-zipkin.test.ts) make a span per command under the call's server span, as the real
// Zipkin server stores them. One file, so one Zipkin; real servers, FerretDB and Redis.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeClients, createClient, flushTracing } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { parseAuthConfig } from "../../services/auth/src/config.js";
import * as auth from "../../services/auth/src/server.js";
import { parseCatalogConfig } from "../../services/catalog/src/config.js";
import * as catalog from "../../services/catalog/src/server.js";
import { traceToZipkin, type TestZipkin, type ZipkinSpan } from "../support/zipkin.js";

const suffix = randomBytes(4).toString("hex");
const stores = (name: string) => ({ PORT: "0", ADMIN_PORT: "0", MONGO_URL: process.env.SHOP_TEST_MONGO_URL!,
  MONGO_DB: `test_${name}_spans_${suffix}`, REDIS_URL: process.env.SHOP_TEST_REDIS_URL!, REDIS_PREFIX: `test-${name}-spans-${suffix}:` });
let zipkin: TestZipkin;
let mesh: TestMesh;
let keyDir: string;
let authPort: number;
let catalogPort: number;

beforeAll(async () => {
  zipkin = await traceToZipkin("store-spans-test");
  mesh = await createTestMesh();
  keyDir = mkdtempSync(join(tmpdir(), "store-spans-keys-"));
  const authConfig = parseAuthConfig({ ...stores("auth"), JWT_KEY_FILE: join(keyDir, "jwt.pem") });
  // auth verifies its own tokens (no JWKS_URL in its mesh config).
  authPort = (await auth.startServer({ ...authConfig, mesh: { ...mesh.config("auth"), jwt: {} } })).port;
  catalogPort = (await catalog.startServer({ ...parseCatalogConfig(stores("catalog")), mesh: mesh.config("catalog") })).port;
}, 120_000);

afterAll(async () => {
  closeClients();
  await auth.stopServer();
  await catalog.stopServer();
  mesh?.dispose();
  zipkin?.stop();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

/** Runs `call` with a traceparent of a new trace; resolves with the trace's server span and store spans. */
async function traced(method: string, call: (traceparent: string) => Promise<unknown>) {
  const traceId = randomBytes(16).toString("hex");
  await call(`00-${traceId}-${"12".repeat(8)}-01`);
  await flushTracing();
  const spans = await zipkin.trace(traceId, 4);
  const servers = spans.filter((s) => s.kind === "SERVER" && s.tags?.["rpc.method"] === method);
  expect(servers).toHaveLength(1);
  const of = (system: string) => spans.filter((s: ZipkinSpan) => s.tags?.["db.system"] === system)
    .map((s) => [s.parentId, s.tags?.["db.operation.name"], s.tags?.["db.collection.name"]]);
  return { server: servers[0]!.id, mongo: of("mongodb"), redis: of("redis") };
}

test("auth: a Register's Mongo inserts are spans under its server span", async () => {
  const client = createClient(AuthService, { address: `127.0.0.1:${authPort}`, config: mesh.config("edge"), target: "auth" });
  const { server, mongo } = await traced("Register", (traceparent) =>
    client.register({ email: `spans-${suffix}@example.com`, password: "analytical-engine", displayName: "Ada" }, { headers: { traceparent } }));
  // The user, then its email entry (mongo-user-store.ts).
  expect(mongo).toEqual([[server, "insert", "users"], [server, "insert", "user_emails"]]);
}, 30_000);

test("catalog: an UpsertProduct's Mongo update and Redis PUBLISH are spans under its server span", async () => {
  const client = createClient(CatalogService, { address: `127.0.0.1:${catalogPort}`, config: mesh.config("edge"), target: "catalog" });
  const authorization = `Bearer ${await mesh.signToken({ sub: "u_admin", roles: ["admin"] })}`;
  const { server, mongo, redis } = await traced("UpsertProduct", (traceparent) =>
    client.upsertProduct({ product: { id: `spans-${suffix}`, name: "Traced Mug", description: "d", pictureUrl: "/p.jpg",
      price: { currencyCode: "USD", amountMinor: 999n }, categories: ["test"], stock: 1 } }, { headers: { authorization, traceparent } }));
  // replaceOne is an update command.
  expect(mongo).toEqual([[server, "update", "products"]]);
  expect(redis).toEqual([[server, "PUBLISH", undefined]]);
}, 30_000);
