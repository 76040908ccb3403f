// Against `make up OBSERVE=1` (runner/src/observe/plan.ts): one checkout through the edge is one
// trace in Zipkin, with correct parent links, spans from order, cart, catalog, payment and the
// Python recommendation service, and the Mongo and Redis commands under them; Prometheus scrapes
// every replica and its recording rules give each service a non-zero request rate after a short
// load; `make logs TRACE=<id>` prints that trace's lines from every service, in time order; and
// with Zipkin and Prometheus killed, the shop still sells.
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { GOOD_CARD, grpcurlOk, newUser, recorded, repo } from "../e2e/support.js";
import { meshUp, pidOf, stopProcess, waitUntil } from "../chaos/mesh-control.js";

const ZIPKIN = "http://127.0.0.1:9411";
const PROMETHEUS = "http://127.0.0.1:9190";
const services = recorded().filter((p) => p.kind === "service");

interface ZipkinSpan { traceId: string; id: string; parentId?: string; kind?: string; name: string; localEndpoint: { serviceName: string }; tags?: Record<string, string> }

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** One checkout through the edge under a traceparent of ours; returns its trace id and our span id. */
function checkout(): { traceId: string; rootSpan: string; user: ReturnType<typeof newUser> } {
  const user = newUser("observe");
  const product = grpcurlOk<{ products: { id: string }[] }>("shop.catalog.v2.CatalogService/ListProducts", { pageSize: 1 }).products[0]!;
  grpcurlOk("shop.cart.v1.CartService/AddItem", { productId: product.id, quantity: 1 }, user.token);
  const [traceId, rootSpan] = [randomBytes(16).toString("hex"), randomBytes(8).toString("hex")];
  const placed = grpcurlOk<{ order: { status: string } }>("shop.order.v1.OrderService/PlaceOrder", { requestId: randomUUID(), card: GOOD_CARD },
    user.token, ["-H", `traceparent: 00-${traceId}-${rootSpan}-01`]);
  expect(placed.order.status).toBe("ORDER_STATUS_CONFIRMED");
  return { traceId, rootSpan, user };
}

let trace: { traceId: string; rootSpan: string };

beforeAll(() => {
  if (!recorded().some((p) => p.name === "zipkin")) throw new Error("no zipkin in .run/mesh.json: run make up OBSERVE=1");
});

test("one checkout is one trace in Zipkin: every span linked to its parent, spans from every service and from Mongo and Redis", async () => {
  trace = checkout();
  const want = ["order", "cart", "catalog", "payment", "recommendation"];
  let spans: ZipkinSpan[] = [];
  // Spans are exported in batches (every few seconds) and RecordPurchase runs after the answer.
  await waitUntil("the checkout's spans from every service reach Zipkin", async () => {
    spans = await json<ZipkinSpan[]>(`${ZIPKIN}/api/v2/trace/${trace.traceId}`).catch(() => []);
    const seen = new Set(spans.filter((s) => s.kind === "SERVER").map((s) => s.localEndpoint.serviceName));
    return want.every((w) => seen.has(w)) && spans.some((s) => s.tags?.["db.system"] === "mongodb");
  }, 30_000, 500);
  expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([trace.traceId]));
  const ids = new Set(spans.map((s) => s.id));
  // Only order's server span hangs off our own (the client's) span; every other parent is in the trace.
  expect(spans.filter((s) => !s.parentId || !ids.has(s.parentId)).map((s) => [s.localEndpoint.serviceName, s.kind, s.parentId]))
    .toEqual([["order", "SERVER", trace.rootSpan]]);
  // Each service's server span is the child of a client span of its caller.
  const byId = new Map(spans.map((s) => [s.id, s]));
  for (const s of spans.filter((x) => x.kind === "SERVER" && x.localEndpoint.serviceName !== "order")) {
    const parent = byId.get(s.parentId!)!;
    expect([s.name, parent.kind, parent.name]).toEqual([s.name, "CLIENT", s.name]);
  }
  const order = spans.find((s) => s.kind === "SERVER" && s.localEndpoint.serviceName === "order")!;
  expect(order.tags).toMatchObject({ "rpc.system": "grpc", "rpc.service": "shop.order.v1.OrderService", "rpc.method": "PlaceOrder", "rpc.grpc.status_code": "0" });
  // Store spans sit under a service's server span, in that service.
  for (const store of spans.filter((s) => s.tags?.["db.system"] === "mongodb" || s.tags?.["db.system"] === "redis")) {
    let p = byId.get(store.parentId!);
    while (p && p.kind !== "SERVER") p = byId.get(p.parentId!);
    expect(p?.localEndpoint.serviceName).toBe(store.localEndpoint.serviceName);
  }
  expect(spans.some((s) => s.tags?.["db.system"] === "redis")).toBe(true);
}, 60_000);

test("make logs TRACE=<id> prints the checkout's lines from every service it touched, in time order", () => {
  const out = execFileSync(process.execPath, [join(repo, "runner", "dist", "cli.js"), "trace-logs", trace.traceId], { encoding: "utf8" });
  const lines = out.trim().split("\n");
  for (const svc of ["order", "cart", "catalog", "payment", "recommendation"]) expect(`${svc}: ${lines.some((l) => l.split(/\s+/)[1] === svc)}`).toBe(`${svc}: true`);
  expect(lines.filter((l) => !l.includes(trace.traceId))).toEqual([]);
  const times = lines.map((l) => l.split(" ")[0]!);
  expect([...times].sort()).toEqual(times);
});

test("Prometheus scrapes every replica, and under a light load (a checkout at a time) its rules give every service a non-zero request rate", async () => {
  const targets = await json<{ data: { activeTargets: { labels: Record<string, string>; health: string }[] } }>(`${PROMETHEUS}/api/v1/targets`);
  expect(targets.data.activeTargets.map((t) => t.labels.instance).sort()).toEqual(services.map((s) => s.name).sort());
  await waitUntil("every target up", async () => (await json<typeof targets>(`${PROMETHEUS}/api/v1/targets`)).data.activeTargets.every((t) => t.health === "up"), 30_000, 1000);
  const rates = async () => {
    const r = await json<{ data: { result: { metric: Record<string, string>; value: [number, string] }[] } }>(
      `${PROMETHEUS}/api/v1/query?query=${encodeURIComponent("service:grpc_server_requests:rate30s")}`);
    return Object.fromEntries(r.data.result.map((x) => [x.metric.service, Number(x.value[1])]));
  };
  const all = [...new Set(services.map((s) => s.name.replace(/-\d+$/, "")))].sort();
  // A rate needs an increase between two scrapes: a series first scraped after its only calls
  // shows none. So each look comes after a checkout, which calls all six services.
  await waitUntil("a non-zero request rate for every service", async () => {
    checkout();
    const r = await rates();
    return all.every((s) => (r[s] ?? 0) > 0);
  }, 40_000, 1000);
}, 90_000);

test("the dashboard of make up OBSERVE=1 shows every process serving, live figures on the edges the checkouts used, and the slowest calls linked to Zipkin", async () => {
  interface State { prometheus: { ok: boolean }; zipkin: { ok: boolean }; processes: { name: string; health: string }[];
    edges: { caller: string; callee: string; rps: number | null }[]; slowest: { traceId: string; url: string }[] }
  const page = await fetch("http://127.0.0.1:3000/", { signal: AbortSignal.timeout(5000) });
  expect([page.status, (await page.text()).includes("<svg")]).toEqual([200, true]);
  let state: State | undefined;
  await waitUntil("the dashboard has order→payment's rate and a slow call", async () => {
    checkout();
    state = await json<State>("http://127.0.0.1:3000/api/state");
    return (state.edges.find((e) => e.caller === "order" && e.callee === "payment")?.rps ?? 0) > 0 && state.slowest.length > 0;
  }, 40_000, 1000);
  expect([state!.prometheus.ok, state!.zipkin.ok]).toEqual([true, true]);
  const running = recorded().filter((p) => p.kind !== "supervisor").map((p) => p.name).sort();
  expect(state!.processes.filter((p) => p.health === "SERVING").map((p) => p.name).sort()).toEqual(running);
  expect(state!.slowest[0]!.url).toBe(`${ZIPKIN}/zipkin/traces/${state!.slowest[0]!.traceId}`);
}, 60_000);

test("with Zipkin and Prometheus killed, checkouts still succeed; make up brings them back", async () => {
  await stopProcess("zipkin", "SIGKILL");
  await stopProcess("prometheus", "SIGKILL");
  for (let i = 0; i < 3; i++) checkout();
  await meshUp();
  expect(await pidOf("zipkin")).toBeGreaterThan(0);
  expect(await pidOf("prometheus")).toBeGreaterThan(0);
}, 120_000);
