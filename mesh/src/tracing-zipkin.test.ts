// Tracing on, end to end: the real Zipkin server (.bin/zipkin.jar, tools/setup.sh observe) on a free
// port, exported to with the standard OTEL_* settings; real mesh servers and clients over mTLS; real
// Redis and FerretDB. What Zipkin's API returns proves the spans, their links and their attributes.
import { Code, ConnectError } from "@connectrpc/connect";
import type { MongoClient } from "mongodb";
import type { Redis } from "ioredis";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { traceToZipkin, type TestZipkin, type ZipkinSpan } from "../../test/support/zipkin.js";
import { closeClients, createClient } from "./client.js";
import { inboundCall } from "./context.js";
import { traceFields } from "./logger.js";
import { connectMongo } from "./mongo.js";
import { openRedis } from "./redis.js";
import { serve, type MeshServer } from "./serve.js";
import { createTestMesh, type TestMesh } from "./testing/index.js";
import { flushTracing, tracingEnabled } from "./tracing.js";

let zipkin: TestZipkin;
let mesh: TestMesh;
let order: MeshServer;
let catalog: MeshServer;
let redis: Redis;
let mongo: MongoClient;
let token: string;
let catalogFailures = 0;
const seen: { traceId?: string; spanId?: string; catalogSpanId?: string; logFields?: object } = {};

/** The trace's spans, once Zipkin holds at least `count` of them. */
async function traceOf(traceId: string, count: number): Promise<ZipkinSpan[]> {
  await flushTracing();
  return zipkin.trace(traceId, count);
}

/** The one span matching `pred`; fails with the whole trace when there is not exactly one. */
function one(spans: ZipkinSpan[], what: string, pred: (s: ZipkinSpan) => boolean): ZipkinSpan {
  const found = spans.filter(pred);
  if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length} in ${JSON.stringify(spans, null, 1)}`);
  return found[0]!;
}

const rpc = (kind: "CLIENT" | "SERVER", method: string) => (s: ZipkinSpan) => s.kind === kind && s.tags?.["rpc.method"] === method;

beforeAll(async () => {
  // The standard settings a pod or make up OBSERVE=1 gives, set before anything reads them (and
  // put back after, so later test files in this worker run untraced).
  zipkin = await traceToZipkin("tracing-test");
  delete process.env.OTEL_TRACES_SAMPLER;
  delete process.env.OTEL_SDK_DISABLED;

  mesh = await createTestMesh();
  token = await mesh.signToken({ sub: "u1" });
  redis = await openRedis(process.env.SHOP_TEST_REDIS_URL!);
  mongo = await connectMongo(process.env.SHOP_TEST_MONGO_URL!);
  const products = mongo.db(`tracing_${process.pid}`).collection<{ _id: string; name: string }>("products");
  catalog = await serve({
    name: "catalog", port: 0, config: mesh.config("catalog"), reflection: false,
    services: [{ service: CatalogService, impl: {
      async getProduct(req) {
        seen.catalogSpanId = inboundCall()?.spanId;
        if (catalogFailures > 0) {
          catalogFailures--;
          throw new ConnectError("catalog is restarting", Code.Unavailable);
        }
        // One Redis command and one Mongo command under this call's span.
        await redis.get(`tracing:${req.id}`);
        const doc = await products.findOne({ _id: req.id });
        return { product: { id: req.id, name: doc?.name ?? "unnamed" } };
      },
    } }],
  });
  order = await serve({
    name: "order", port: 0, config: mesh.config("order"), reflection: false,
    services: [{ service: OrderService, impl: {
      async getOrder(req, ctx) {
        seen.traceId = inboundCall()?.traceId;
        seen.spanId = inboundCall()?.spanId;
        seen.logFields = traceFields();
        const client = createClient(CatalogService, { target: "catalog", address: `127.0.0.1:${catalog.port}`, config: mesh.config("order") });
        const res = await client.getProduct({ id: req.orderId }, { signal: ctx.signal });
        return { order: { id: req.orderId, userId: res.product?.name ?? "" } };
      },
    } }],
  });
}, 120_000);

afterAll(async () => {
  closeClients();
  await order?.close(100);
  await catalog?.close(100);
  redis?.disconnect();
  await mongo?.close();
  mesh?.dispose();
  zipkin?.stop();
});

function edge() {
  return createClient(OrderService, { target: "order", address: `127.0.0.1:${order.port}`, config: mesh.config("edge") });
}

test("one trace holds the client and server span of every hop, correctly linked, with the RPC attributes, and the store commands below", async () => {
  expect(tracingEnabled()).toBe(true);
  await edge().getOrder({ orderId: "p1" }, { headers: { authorization: `Bearer ${token}` } });
  const traceId = seen.traceId!;
  const spans = await traceOf(traceId, 6);

  const edgeCall = one(spans, "edge→order client span", rpc("CLIENT", "GetOrder"));
  const orderServer = one(spans, "order server span", rpc("SERVER", "GetOrder"));
  const catalogCall = one(spans, "order→catalog client span", rpc("CLIENT", "GetProduct"));
  const catalogServer = one(spans, "catalog server span", rpc("SERVER", "GetProduct"));
  const redisGet = one(spans, "Redis GET span", (s) => s.tags?.["db.system"] === "redis");
  const mongoFind = one(spans, "Mongo find span", (s) => s.tags?.["db.system"] === "mongodb");

  // The links: edge → order → catalog, and the store commands under catalog's call.
  expect(edgeCall.parentId).toBeUndefined();
  expect(orderServer.parentId).toBe(edgeCall.id);
  expect(catalogCall.parentId).toBe(orderServer.id);
  expect(catalogServer.parentId).toBe(catalogCall.id);
  expect(redisGet.parentId).toBe(catalogServer.id);
  expect(mongoFind.parentId).toBe(catalogServer.id);
  // The ids the handlers (and so the log lines) saw are the spans Zipkin holds.
  expect(orderServer.id).toBe(seen.spanId);
  expect(catalogServer.id).toBe(seen.catalogSpanId);
  expect(seen.logFields).toEqual({ trace_id: traceId, span_id: orderServer.id });
  expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
  expect(orderServer.localEndpoint?.serviceName).toBe("tracing-test");

  expect(orderServer.tags).toMatchObject({
    "rpc.system": "grpc", "rpc.service": "shop.order.v1.OrderService", "rpc.method": "GetOrder", "rpc.grpc.status_code": "0",
    "server.address": "127.0.0.1", "server.port": String(order.port), "shop.caller": "edge",
  });
  expect(catalogCall.tags).toMatchObject({
    "rpc.system": "grpc", "rpc.service": "shop.catalog.v2.CatalogService", "rpc.method": "GetProduct", "rpc.grpc.status_code": "0",
    "server.address": "127.0.0.1", "server.port": String(catalog.port), "shop.breaker.state": "closed", "shop.rpc.attempts": "1",
  });
  expect(catalogServer.tags).toMatchObject({ "rpc.grpc.status_code": "0", "shop.caller": "order" });
  expect(redisGet.tags).toMatchObject({ "db.operation.name": "GET", "server.address": "127.0.0.1" });
  expect(mongoFind.tags).toMatchObject({ "db.operation.name": "find", "db.collection.name": "products" });
  expect(JSON.stringify(spans)).not.toContain("tracing:p1"); // no Redis key, no document in a span
}, 30_000);

test("a retried call is one client span with its attempts counted, over a server span per attempt", async () => {
  catalogFailures = 1;
  await edge().getOrder({ orderId: "p2" }, { headers: { authorization: `Bearer ${token}` } });
  const spans = await traceOf(seen.traceId!, 7);

  const catalogCall = one(spans, "order→catalog client span", rpc("CLIENT", "GetProduct"));
  const attempts = spans.filter(rpc("SERVER", "GetProduct"));
  expect(catalogCall.tags).toMatchObject({ "shop.rpc.attempts": "2", "rpc.grpc.status_code": "0", "shop.breaker.state": "closed" });
  expect(catalogCall.annotations?.map((a) => a.value)).toEqual(["retry"]);
  expect(attempts.map((s) => s.parentId)).toEqual([catalogCall.id, catalogCall.id]);
  expect(attempts.map((s) => s.tags?.["rpc.grpc.status_code"]).sort()).toEqual(["0", String(Code.Unavailable)]);
  expect(attempts.find((s) => s.tags?.["rpc.grpc.status_code"] !== "0")?.tags?.error).toBe("catalog is restarting");
}, 30_000);

test("a call its open breaker refused is a client span with no attempt, the state open, and the error", async () => {
  const client = createClient(CatalogService, {
    target: "catalog", address: `127.0.0.1:${catalog.port}`, config: mesh.config("edge"),
    breaker: { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60_000 }, retry: false,
  });
  catalogFailures = 1;
  await expect(client.getProduct({ id: "p3" })).rejects.toThrow(/restarting/);
  const traceId = "ef".repeat(16);
  const err = await client.getProduct({ id: "p3" }, { headers: { traceparent: `00-${traceId}-${"12".repeat(8)}-01` } })
    .catch((e: unknown) => ConnectError.from(e));
  expect(err).toMatchObject({ code: Code.Unavailable });

  const spans = await traceOf(traceId, 1);
  const refused = one(spans, "refused client span", rpc("CLIENT", "GetProduct"));
  // A traceparent the caller set itself is the parent when there is no inbound call.
  expect(refused.parentId).toBe("12".repeat(8));
  expect(refused.tags).toMatchObject({
    "shop.breaker.state": "open", "shop.rpc.attempts": "0", "rpc.grpc.status_code": String(Code.Unavailable), "otel.status_code": "ERROR",
  });
  expect(spans.filter((s) => s.kind === "SERVER")).toEqual([]);
}, 30_000);
