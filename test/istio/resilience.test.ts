// Against `make up MESH=istio` (two catalog v1 replicas and the v2 canary): what the
// VirtualServices' retries and timeouts and the DestinationRules' outlier detection and retry
// budget do, on the real Envoys. A replica is made to fail or stall with the fault knob
// (MESH_FAULT_*, mesh/src/fault.ts), restarted alone while the rest of the mesh runs. Every
// figure comes from a counter: the gateway's Envoy (/stats) and each replica's own gRPC metrics.
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createUnaryClient, newUser, type Outcome, type TestUser } from "../chaos/edge-client.js";
import { productIds } from "../chaos/shop.js";
import { waitUntil } from "../chaos/mesh-control.js";
import { appCounter, clusterStat, gatewayAdmin, restartWith, stat } from "./envoy.js";

const edge = createUnaryClient();
const gw = gatewayAdmin();
const v1 = (counter: string) => stat(gw, clusterStat("catalog", 50052, "v1", counter));
const unavailableAt = (replica: string) => appCounter(replica, "grpc_server_handled_total", { grpc_method: "GetProduct", grpc_code: "Unavailable" });
const startedAt = (replica: string, method = "GetProduct") => appCounter(replica, "grpc_server_started_total", { grpc_method: method });
const codes = (os: Outcome[]) => os.reduce<Record<string, number>>((m, o) => ({ ...m, [o.codeName]: (m[o.codeName] ?? 0) + 1 }), {});
/**
 * How Envoy ends a call past a route's (per-try) timeout: two timers of the same length race. The
 * gateway's own answers UNAVAILABLE; the callee's sidecar enforces the grpc-timeout the gateway
 * rewrote to that timeout and answers DEADLINE_EXCEEDED. Which one wins varies from call to call.
 */
const TIMEOUT_ENDS = [["DEADLINE_EXCEEDED", "downstream duration timeout"], ["UNAVAILABLE", "upstream request timeout"]];
let id: string;
let user: TestUser;
/** Replicas given a fault knob here; each is restarted without it at the end, whatever failed. */
const faulted = new Set<string>();

async function fault(replica: string, env: Record<string, string>): Promise<void> {
  faulted.add(replica);
  await restartWith(replica, env);
}

/** `n` GetProducts through the gateway, `inFlight` at a time. */
async function getProducts(n: number, inFlight = 1, headers: Record<string, string> = {}): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (let i = 0; i < n; i += inFlight) {
    out.push(...await Promise.all(Array.from({ length: Math.min(inFlight, n - i) },
      () => edge.call(CatalogService.method.getProduct, { id }, { headers, timeoutMs: 10_000 }))));
  }
  return out;
}

beforeAll(async () => {
  [id] = await productIds(edge, 1) as [string];
  user = await newUser(edge, "istio-resilience");
  // An ejection left by an earlier run on this mesh would hide catalog-2 from the first test.
  await waitUntil("no catalog v1 replica is ejected", async () => (await v1("outlier_detection.ejections_active")) === 0, 90_000, 500);
}, 120_000);

afterAll(async () => {
  for (const r of faulted) await restartWith(r, {});
  edge.close();
}, 120_000);

describe("retries (VirtualService catalog-edge, route read: attempts 2, retryOn unavailable) and outlier detection (consecutiveGatewayErrors 5)", () => {
  let ejectedAt = 0;

  test("catalog-2 answers every call UNAVAILABLE, and every GetProduct still succeeds: Envoy retries each failure once, on the other replica", async () => {
    await fault("catalog-2", { MESH_FAULT_UNAVAILABLE_RATE: "1" });
    const before = { failed: await unavailableAt("catalog-2"), retry: await v1("upstream_rq_retry"),
      overflow: await v1("upstream_rq_retry_overflow"),
      ejected: await v1("outlier_detection.ejections_enforced_consecutive_gateway_failure") };
    const out = await getProducts(60);
    ejectedAt = Date.now();
    expect(codes(out)).toEqual({ OK: 60 });
    const failed = (await unavailableAt("catalog-2")) - before.failed;
    // The fifth straight gateway error (UNAVAILABLE counts as 503) ejects catalog-2: no sixth call reaches it.
    expect(failed).toBe(5);
    expect((await v1("upstream_rq_retry")) - before.retry).toBe(failed);
    expect((await v1("upstream_rq_retry_overflow")) - before.overflow).toBe(0);
    expect((await v1("outlier_detection.ejections_enforced_consecutive_gateway_failure")) - before.ejected).toBe(1);
  }, 120_000);

  test("while catalog-2 is ejected, no call reaches it and none fails; after its ejection time (baseEjectionTime 30s) it takes calls again", async () => {
    expect(ejectedAt).toBeGreaterThan(0);
    expect(await v1("outlier_detection.ejections_active")).toBe(1);
    const started = await startedAt("catalog-2");
    expect(codes(await getProducts(100, 5))).toEqual({ OK: 100 });
    expect((await startedAt("catalog-2")) - started).toBe(0);

    // Healthy again, but still ejected: Envoy lets it back only when the ejection time is over.
    await restartWith("catalog-2", {});
    faulted.delete("catalog-2");
    await waitUntil("catalog-2 returns from ejection", async () => (await v1("outlier_detection.ejections_active")) === 0, 60_000, 500);
    const back = (Date.now() - ejectedAt) / 1000;
    // Checked every interval (10s) once baseEjectionTime (30s) is over.
    expect(back).toBeGreaterThanOrEqual(29);
    expect(back).toBeLessThanOrEqual(45);
    const startedBack = await startedAt("catalog-2");
    expect(codes(await getProducts(100, 5))).toEqual({ OK: 100 });
    expect((await startedAt("catalog-2")) - startedBack).toBeGreaterThan(0);
  }, 120_000);

  test("retries stay within the budget (retryBudget 20% of active requests, at least 3): a burst of 40 whose failures all come back at once overflows it", async () => {
    // Both v1 replicas answer after 400 ms, catalog-2 always with UNAVAILABLE: its failures
    // arrive together, and each retry then holds a request on catalog for 400 ms.
    await fault("catalog", { MESH_FAULT_DELAY_MS: "400" });
    await fault("catalog-2", { MESH_FAULT_UNAVAILABLE_RATE: "1", MESH_FAULT_DELAY_MS: "400" });
    const before = { failed: await unavailableAt("catalog-2"), retry: await v1("upstream_rq_retry"),
      overflow: await v1("upstream_rq_retry_overflow") };
    const out = await getProducts(40, 40);
    const failed = (await unavailableAt("catalog-2")) - before.failed;
    const retried = (await v1("upstream_rq_retry")) - before.retry;
    const overflowed = (await v1("upstream_rq_retry_overflow")) - before.overflow;
    expect(failed).toBeGreaterThan(8);
    // Every failed first try was either retried or refused a retry by the budget.
    expect(retried + overflowed).toBe(failed);
    // At most 20% of the 40 requests in flight, and never fewer than minRetryConcurrency.
    expect(retried).toBeGreaterThanOrEqual(3);
    expect(retried).toBeLessThanOrEqual(8);
    // What the budget refused is what the client saw fail; every retried call succeeded.
    expect(codes(out)).toEqual({ OK: 40 - overflowed, UNAVAILABLE: overflowed });
  }, 120_000);
});

describe("timeouts and what is never retried", () => {
  test("a read that stalls ends at the route's perTryTimeout (1s, ±10%), and is not retried", async () => {
    await fault("catalog-v2", { MESH_FAULT_DELAY_MS: "5000" });
    const v2 = (counter: string) => stat(gw, clusterStat("catalog", 50052, "v2", counter));
    const retries = await v2("upstream_rq_retry");
    const call = (timeoutMs: number) => edge.call(CatalogService.method.getProduct, { id }, { headers: { "x-shop-canary": "v2" }, timeoutMs });

    // The caller's own deadline (10 s) is far away: the route ends the call.
    const out = await Promise.all([1, 2, 3, 4, 5].map(() => call(10_000)));
    for (const o of out) expect(TIMEOUT_ENDS).toContainEqual([o.codeName, o.message]);
    for (const o of out) {
      expect(o.ms).toBeGreaterThanOrEqual(900);
      expect(o.ms).toBeLessThanOrEqual(1100);
    }
    expect((await v2("upstream_rq_retry")) - retries).toBe(0);
  }, 120_000);

  test("a write with no per-try timeout ends at the route's timeout (AddItem, route noretry: 5s, ±10%)", async () => {
    await fault("cart", { MESH_FAULT_DELAY_MS: "8000" });
    const timeouts = () => stat(gw, clusterStat("cart", 50053, "v1", "upstream_rq_timeout"));
    const before = await timeouts();
    const out = await Promise.all([1, 2, 3].map(() => edge.call(CartService.method.addItem, { productId: id, quantity: 1 }, { token: user.token })));
    for (const o of out) {
      expect(TIMEOUT_ENDS).toContainEqual([o.codeName, o.message]);
      expect(o.ms).toBeGreaterThanOrEqual(4500);
      expect(o.ms).toBeLessThanOrEqual(5500);
    }
    // The gateway's own timer counts each call it ended itself, the UNAVAILABLE ones.
    expect((await timeouts()) - before).toBe(out.filter((o) => o.codeName === "UNAVAILABLE").length);
  }, 120_000);

  test("AddItem (not idempotent) is tried exactly once, GetCart (a read) three times: counted by cart's own metrics", async () => {
    await fault("cart", { MESH_FAULT_UNAVAILABLE_RATE: "1" });
    const [adds, gets] = [await startedAt("cart", "AddItem"), await startedAt("cart", "GetCart")];
    // One call at a time: concurrent failures would meet the retry budget (at least 3 retries in flight).
    const added: Outcome[] = [];
    const got: Outcome[] = [];
    for (let i = 0; i < 4; i++) added.push(await edge.call(CartService.method.addItem, { productId: id, quantity: 1 }, { token: user.token }));
    for (let i = 0; i < 4; i++) got.push(await edge.call(CartService.method.getCart, {}, { token: user.token }));
    expect(codes(added)).toEqual({ UNAVAILABLE: 4 });
    expect(codes(got)).toEqual({ UNAVAILABLE: 4 });
    expect((await startedAt("cart", "AddItem")) - adds).toBe(4);
    expect((await startedAt("cart", "GetCart")) - gets).toBe(12);
  }, 120_000);
});

describe("connectionPool (DestinationRule catalog: http2MaxRequests 1000)", () => {
  test("past 1,000 requests in flight to catalog v2, the rest overflow at the gateway: counted by Envoy, refused with its overflow reset, never reaching the replica", async () => {
    // catalog-v2 (the only v2 replica) holds each call 800 ms, so 1,100 sent at once are in flight together.
    await fault("catalog-v2", { MESH_FAULT_DELAY_MS: "800" });
    const v2 = (counter: string) => stat(gw, clusterStat("catalog", 50052, "v2", counter));
    const [overflowBefore, startedBefore] = [await v2("upstream_rq_active_overflow"), await startedAt("catalog-v2")];
    const out = await getProducts(1100, 1100, { "x-shop-canary": "v2" });
    const overflowed = (await v2("upstream_rq_active_overflow")) - overflowBefore;
    const reached = (await startedAt("catalog-v2")) - startedBefore;
    expect(overflowed).toBeGreaterThan(0);
    // Never more than the limit reached the replica.
    expect(overflowed).toBeLessThanOrEqual(100);
    expect(reached).toBe(1100 - overflowed);
    // Exactly the overflowed calls end with Envoy's overflow reset. The 1,000 admitted ones all
    // reach catalog-v2; under this load most then meet the 1 s per-try timeout, which is not the subject here.
    expect(out.filter((o) => o.codeName === "UNAVAILABLE" && o.message.endsWith("reset reason: overflow")).length).toBe(overflowed);
  }, 120_000);
});
