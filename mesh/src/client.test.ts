import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { breakerOf, closeClients, createClient } from "./client.js";
import { startBareServer, createTestMesh, type TestMesh } from "./testing/index.js";
import { inboundCall } from "./context.js";
import { meshRegistry } from "./metrics.js";
import { serve, type MeshServer } from "./serve.js";

// Two real mesh servers with mTLS and JWT: the test (as "edge") calls order, whose handler
// calls catalog. What catalog sees proves what the client propagated.
let mesh: TestMesh;
let order: MeshServer;
let catalog: MeshServer;
let token: string;
const seen: { remainingMs?: number; authorization?: string | null; traceparent?: string | null; canary?: string | null; aborted?: boolean } = {};
let orderTraceId = "";
let catalogDelayMs = 0;

beforeAll(async () => {
  mesh = await createTestMesh();
  token = await mesh.signToken({ sub: "u1" });
  catalog = await serve({
    name: "catalog",
    port: 0,
    config: mesh.config("catalog"),
    reflection: false,
    services: [
      {
        service: CatalogService,
        impl: {
          async getProduct(req, ctx) {
            seen.remainingMs = ctx.timeoutMs();
            seen.authorization = ctx.requestHeader.get("authorization");
            seen.traceparent = ctx.requestHeader.get("traceparent");
            seen.canary = ctx.requestHeader.get("x-shop-canary");
            if (catalogDelayMs > 0) {
              await new Promise<void>((resolve) => {
                const t = setTimeout(resolve, catalogDelayMs);
                ctx.signal.addEventListener("abort", () => {
                  seen.aborted = true;
                  clearTimeout(t);
                  resolve();
                });
              });
            }
            if (req.id === "missing") throw new ConnectError("no product missing", Code.NotFound);
            return { product: { id: req.id, name: "hop 2" } };
          },
        },
      },
    ],
  });
  order = await serve({
    name: "order",
    port: 0,
    config: mesh.config("order"),
    reflection: false,
    services: [
      {
        service: OrderService,
        impl: {
          async getOrder(req, ctx) {
            orderTraceId = inboundCall()?.traceId ?? "";
            // Time spent in this hop must come off the deadline the next hop gets.
            await new Promise((r) => setTimeout(r, 100));
            const products = createClient(CatalogService, {
              target: "catalog",
              address: `127.0.0.1:${catalog.port}`,
              config: mesh.config("order"),
            });
            const res = await products.getProduct({ id: req.orderId }, { signal: ctx.signal });
            return { order: { id: req.orderId, userId: res.product?.name ?? "" } };
          },
        },
      },
    ],
  });
});

afterAll(async () => {
  closeClients();
  await order.close(100);
  await catalog.close(100);
  mesh.dispose();
});

function edgeClient() {
  return createClient(OrderService, { target: "order", address: `127.0.0.1:${order.port}`, config: mesh.config("edge") });
}

test("the deadline, the user's token and the trace context propagate across two hops", async () => {
  catalogDelayMs = 0;
  const res = await edgeClient().getOrder(
    { orderId: "p1" },
    { timeoutMs: 1000, headers: { authorization: `Bearer ${token}` } },
  );
  expect(res.order?.userId).toBe("hop 2");
  // 1000 ms at the edge, minus order's 100 ms (and transit): catalog gets what is left.
  expect(seen.remainingMs).toBeGreaterThan(600);
  expect(seen.remainingMs).toBeLessThanOrEqual(900);
  expect(seen.authorization).toBe(`Bearer ${token}`);
  expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
  expect(seen.traceparent?.split("-")[1]).toBe(orderTraceId);
});

// The catalog canary is routed on x-shop-canary (istio/components/canary): a request that came in
// on the canary path must stay on it at every hop, so each service forwards the header.
test("the x-shop-canary header of the inbound call is forwarded to the next hop, and only when it came", async () => {
  catalogDelayMs = 0;
  await edgeClient().getOrder({ orderId: "c1" }, { timeoutMs: 1000, headers: { authorization: `Bearer ${token}`, "x-shop-canary": "v2" } });
  expect(seen.canary).toBe("v2");
  await edgeClient().getOrder({ orderId: "c2" }, { timeoutMs: 1000, headers: { authorization: `Bearer ${token}` } });
  expect(seen.canary).toBeNull();
});

test("when the first hop's deadline expires, the second hop's call is cancelled too", async () => {
  catalogDelayMs = 2000;
  seen.aborted = false;
  const start = Date.now();
  const err = await edgeClient()
    .getOrder({ orderId: "p2" }, { timeoutMs: 300, headers: { authorization: `Bearer ${token}` } })
    .catch((e: unknown) => ConnectError.from(e));
  expect((err as ConnectError).code).toBe(Code.DeadlineExceeded);
  expect(Date.now() - start).toBeLessThan(1000);
  await new Promise((r) => setTimeout(r, 100));
  expect(seen.aborted).toBe(true);
  catalogDelayMs = 0;
});

test("client metrics count calls by code, and the breaker state is exported", async () => {
  const c = createClient(CatalogService, {
    target: "catalog",
    address: `127.0.0.1:${catalog.port}`,
    config: mesh.config("order"),
  });
  await c.getProduct({ id: "p3" });
  await c.getProduct({ id: "missing" }).catch(() => undefined);
  const text = await meshRegistry.metrics();
  expect(text).toMatch(/grpc_client_handled_total\{grpc_service="shop.catalog.v2.CatalogService",grpc_method="GetProduct",grpc_code="OK"\} [1-9]/);
  expect(text).toMatch(/grpc_client_handled_total\{grpc_service="shop.catalog.v2.CatalogService",grpc_method="GetProduct",grpc_code="NotFound"\} [1-9]/);
  expect(text).toMatch(/shop_breaker_state\{target="catalog"\} 0/);
  expect(text).toMatch(/grpc_client_handling_seconds_count\{grpc_service="shop.catalog.v2.CatalogService",grpc_method="GetProduct"\} [1-9]/);
  expect(breakerOf({ target: "catalog", address: `127.0.0.1:${catalog.port}`, config: mesh.config("order") })?.state()).toBe("closed");
});

test("a server holding another service's certificate is refused (Unavailable)", async () => {
  // Pointed at order's address while expecting catalog: TLS checks the server's name.
  const c = createClient(CatalogService, {
    target: "catalog",
    address: `127.0.0.1:${order.port}`,
    config: mesh.config("cart"),
    breaker: false,
  });
  const err = await c.getProduct({ id: "x" }, { timeoutMs: 1000 }).catch((e: unknown) => ConnectError.from(e));
  expect((err as ConnectError).code).toBe(Code.Unavailable);
});

test("istio mode: plaintext to the sidecar, and no app retries (Istio retries instead)", async () => {
  let attempts = 0;
  const bare = await startBareServer([
    {
      service: CatalogService,
      handlers: {
        getProduct: async () => {
          attempts++;
          throw new ConnectError("down", Code.Unavailable);
        },
      },
    },
  ]);
  try {
    const config = mesh.config("order", { mode: "istio" });
    const c = createClient(CatalogService, { target: "catalog", address: bare.address, config });
    const err = await c.getProduct({ id: "x" }).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect(attempts).toBe(1);
    // The same call in local mode is retried (to a plaintext server here, so with explicit credentials).
    const local = createClient(CatalogService, {
      target: "catalog-local",
      address: bare.address,
      config: mesh.config("order"),
      credentials: (await import("@grpc/grpc-js")).credentials.createInsecure(),
      retry: { initialBackoffMs: 1 },
    });
    attempts = 0;
    await local.getProduct({ id: "y" }).catch(() => undefined);
    expect(attempts).toBe(3);
  } finally {
    await bare.close();
  }
});

// On one machine a client under Istio dials its sidecar's egress IP, and the sidecar routes on
// `:authority`: it must be the service's name, or no virtual host matches (docs/istio-local.md).
test("istio mode sends the service's cluster name as :authority", async () => {
  const { createServer } = await import("node:http2");
  const authorities: string[] = [];
  // A plain HTTP/2 server, so the test sees the pseudo-header grpc-js servers hide.
  const h2 = createServer((req, res) => {
    authorities.push(String(req.headers[":authority"]));
    res.writeHead(200, { "content-type": "application/grpc" });
    res.addTrailers({ "grpc-status": "0" });
    res.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message
  });
  const sessions: import("node:http2").ServerHttp2Session[] = [];
  h2.on("session", (session) => sessions.push(session));
  await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
  const port = (h2.address() as { port: number }).port;
  try {
    const config = mesh.config("order", { mode: "istio" });
    const c = createClient(CatalogService, { target: "catalog", address: `127.0.0.1:${port}`, config });
    await c.getProduct({ id: "p1" });
    expect(authorities).toEqual([`catalog.${mesh.topology.namespace}.svc.cluster.local:${port}`]);
  } finally {
    for (const session of sessions) session.destroy(); // the client keeps its connection open
    await new Promise((r) => h2.close(r));
  }
});
