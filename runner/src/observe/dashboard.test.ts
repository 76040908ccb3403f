// The mesh dashboard in a real browser: Debian's Chromium (bash tools/setup.sh observe), driven by
// playwright-core, opens the page of a dashboard that reads the real Prometheus (Debian's, with the
// config and rules prometheus.ts makes) scraping real mesh servers over mTLS, and the real Zipkin
// those servers export their spans to. Everything listens on free ports. What the page shows is
// asserted, as a user would read it; then with Prometheus hung and Zipkin gone, the page still loads
// and says so.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { closeClients, createClient, flushTracing, inboundCall, serve, type MeshServer } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { freePort } from "../../../test/support/stores.js";
import { traceToZipkin, type TestZipkin } from "../../../test/support/zipkin.js";
import { run } from "../paths.js";
import { startDashboard, topologyGraph, edgeRecords, type Dashboard, type DashboardProcess } from "./dashboard.js";
import { prometheusConfig, recordingRules } from "./prometheus.js";

const chromiumPath = "/usr/bin/chromium";
const prometheusPath = "/usr/bin/prometheus";
/** How long the page may take to show what Prometheus has: two 5 s scrapes, a rule evaluation, a page refresh, and slack. */
const DATA_WAIT_MS = 30_000;

let dir: string;
let zipkin: TestZipkin;
let mesh: TestMesh;
let order: MeshServer;
let payment: MeshServer;
let prometheus: ChildProcess;
let prometheusUrl: string;
let dashboard: Dashboard;
let browser: Browser;
let token: string;
let trafficOn = true;
let traffic: Promise<void>;
/** A port nothing listens on: the process row that must show DOWN. */
let closedPort: number;
/** The trace of the one slow call, as order's handler saw it. */
let slowTraceId: string | undefined;

/** Starts Debian's Prometheus on a free port with prometheus.ts's files; resolves once it is ready. */
async function startPrometheus(targets: { name: string; service: string; adminPort: number }[]): Promise<string> {
  const files = prometheusConfig(mesh.topology, targets);
  writeFileSync(join(dir, "prometheus.yml"), files.config);
  writeFileSync(join(dir, "shopmesh-rules.yml"), files.rules);
  const port = await freePort();
  const log = join(dir, "prometheus.log");
  prometheus = spawn(prometheusPath, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", openSync(log, "w"), openSync(log, "a")] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${url}/-/ready`).then((r) => r.ok, () => false))) {
    if (prometheus.exitCode !== null || Date.now() > deadline) throw new Error(`prometheus did not get ready on ${url}:\n${readFileSync(log, "utf8").slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return url;
}

/** Ten calls a second through order (each calling payment) until stopped; failures are expected once payment is stopped. */
async function load(): Promise<void> {
  const client = createClient(OrderService, { target: "order", address: `127.0.0.1:${order.port}`, config: mesh.config("edge") });
  for (let i = 0; trafficOn; i++) {
    await client.getOrder({ orderId: `fast-${i}` }, { headers: { authorization: `Bearer ${token}` } }).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  for (const bin of [chromiumPath, prometheusPath]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run bash tools/setup.sh observe (make setup does)`);
  }
  dir = mkdtempSync(join(tmpdir(), "shopmesh-dashboard-"));
  // Tracing's settings are read once per test file, so Zipkin comes first; Chromium and the
  // certificates start meanwhile.
  [zipkin, mesh, browser] = await Promise.all([
    traceToZipkin("dashboard-test"), createTestMesh(),
    chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] }),
  ]);
  token = await mesh.signToken({ sub: "u1" });
  payment = await serve({
    name: "payment", port: 0, adminPort: 0, config: mesh.config("payment"), reflection: false,
    services: [{ service: PaymentService, impl: { resolveCharge: async () => ({ reason: "voided" }) } }],
  });
  order = await serve({
    name: "order", port: 0, adminPort: 0, config: mesh.config("order"), reflection: false,
    services: [{ service: OrderService, impl: {
      async getOrder(req, ctx) {
        if (req.orderId === "slow") {
          slowTraceId = inboundCall()?.traceId;
          await new Promise((r) => setTimeout(r, 400));
        }
        const client = createClient(PaymentService, { target: "payment", address: `127.0.0.1:${payment.port}`, config: mesh.config("order") });
        await client.resolveCharge({ idempotencyKey: req.orderId }, { signal: ctx.signal });
        return { order: { id: req.orderId } };
      },
    } }],
  });
  // One target only: both servers run in this process and so serve one registry, and a second
  // target would report the same client series again under payment's name.
  prometheusUrl = await startPrometheus([{ name: "order", service: "order", adminPort: order.adminPort! }]);
  traffic = load();
  closedPort = await freePort();
  const processes = (): DashboardProcess[] => [
    // Probed as health.ts probes a process with an HTTP probe: the admin port's /healthz.
    { name: "order", kind: "service", port: order.port, probe: { http: `http://127.0.0.1:${order.adminPort}/healthz` } },
    { name: "payment", kind: "service", port: payment.port, probe: { http: `http://127.0.0.1:${payment.adminPort}/healthz` } },
    { name: "redis", kind: "store", port: closedPort },
    // A recorded process whose pid now runs something else (this test, started at another time):
    // DOWN, as make status says, though its probe would answer.
    { name: "cart", kind: "service", port: order.port, probe: { http: `http://127.0.0.1:${order.adminPort}/healthz` }, pid: process.pid, startTime: "1" },
  ];
  dashboard = await startDashboard({ port: 0, prometheusUrl, zipkinUrl: zipkin.url, topology: mesh.topology, processes });
}, 120_000);

afterAll(async () => {
  trafficOn = false;
  await traffic;
  await browser?.close();
  await dashboard?.close();
  closeClients();
  await order?.close(100);
  await payment?.close(100);
  prometheus?.kill("SIGKILL");
  zipkin?.stop();
  mesh?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** The text of the first element matching `selector`, once `ok` holds for it (polled in the page), or a failure naming what was last seen. */
async function waitForText(page: Page, selector: string, ok: (text: string) => boolean, what: string, timeout = DATA_WAIT_MS): Promise<string> {
  const deadline = Date.now() + timeout;
  let last = "(not drawn)";
  for (;;) {
    last = (await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null)) ?? "(not drawn)";
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: after ${timeout} ms, ${selector} shows "${last}"`);
    await page.waitForTimeout(500);
  }
}

test("the layout puts the edge first and each service after its farthest caller; the rules it reads exist", () => {
  const graph = topologyGraph(mesh.topology);
  const layer = Object.fromEntries(graph.nodes.map((n) => [n.name, n.layer]));
  expect(layer).toMatchObject({ edge: 0, order: 1, cart: 2, payment: 2, recommendation: 2, catalog: 3 });
  expect(graph.edges.find((e) => e.caller === "order" && e.callee === "payment")?.methods).toContain("shop.payment.v1.PaymentService/Charge");
  const rules = recordingRules();
  for (const record of Object.values(edgeRecords)) expect(rules).toContain(`record: ${record}\n`);
});

test("the page draws every service and shows the order→payment traffic, each process's health and a link to the slow call's trace", async () => {
  const page = await browser.newPage();
  await page.goto(dashboard.url);
  for (const name of ["edge", ...Object.keys(mesh.topology.services)]) {
    await expect(page.locator(`g.node[data-service="${name}"]`).textContent()).resolves.toBe(name);
  }
  await expect(page.locator("g.edge").count()).resolves.toBe(topologyGraph(mesh.topology).edges.length);

  await waitForText(page, "#processes tr[data-name=order] td.health", (t) => t === "SERVING", "order's health");
  await waitForText(page, "#processes tr[data-name=redis] td.health", (t) => t === "DOWN", "the closed port's health");
  await waitForText(page, "#processes tr[data-name=cart] td.health", (t) => t === "DOWN", "the gone process's health");
  await expect(page.locator("g.node[data-service=cart]").getAttribute("class")).resolves.toBe("node down");
  await waitForText(page, "#prometheus-status", (t) => t === "up", "Prometheus's status");

  // One slow call, traced like every other; flushed now rather than at the exporter's next batch.
  const client = createClient(OrderService, { target: "order", address: `127.0.0.1:${order.port}`, config: mesh.config("edge") });
  await client.getOrder({ orderId: "slow" }, { headers: { authorization: `Bearer ${token}` } });
  await flushTracing();
  expect(slowTraceId).toMatch(/^[0-9a-f]{32}$/);

  const rps = await waitForText(page, '#edges tr[data-caller=order][data-callee=payment] td.rps', (t) => Number(t) > 0, "order→payment req/s");
  expect(Number(rps)).toBeLessThan(50); // about 10/s: a figure, not a counter
  await expect(page.locator("text.edge-label[data-caller=order][data-callee=payment]").textContent()).resolves.toMatch(/^\d+\.\d\/s · 0\.0% · p99 \d+ ms$/);
  await expect(page.locator("#edges tr[data-caller=order][data-callee=payment] td.errors").textContent()).resolves.toBe("0.0 %");
  await expect(page.locator("#edges tr[data-caller=cart][data-callee=catalog] td.rps").textContent()).resolves.toBe("no data");
  await waitForText(page, "#breakers tr[data-service=order][data-target=payment] td.state", (t) => t === "CLOSED", "order's payment breaker");

  const link = `${zipkin.url}/zipkin/traces/${slowTraceId}`;
  await waitForText(page, `#slowest a[href="${link}"]`, (t) => /getorder/i.test(t), "the slow call's link", 20_000);
  // Zipkin lowercases span names. The call shows its 400 ms, the list runs slowest first (the
  // first calls, which set up TLS connections, may be slower still), and Zipkin holds the trace linked.
  const durations = (await page.locator("#slowest tbody tr td:first-child").allTextContents()).map(parseFloat);
  expect(parseFloat((await page.locator(`#slowest tr[data-trace="${slowTraceId}"] td`).first().textContent())!)).toBeGreaterThanOrEqual(400);
  expect(durations).toEqual([...durations].sort((a, b) => b - a));
  expect(durations.length).toBeGreaterThan(1);
  expect((await zipkin.trace(slowTraceId!, 4)).length).toBeGreaterThanOrEqual(4);
  // Still up: the reads that ask Zipkin only for calls slower than those kept (minDuration) succeed.
  await expect(page.locator("#zipkin-status").textContent()).resolves.toBe("up");

  mkdirSync(run, { recursive: true });
  await page.screenshot({ path: join(run, "dashboard-test.png"), fullPage: true });
  await page.close();
}, 90_000);

test("with payment stopped, the page shows order's payment breaker OPEN, the edge's errors and payment DOWN", async () => {
  const page = await browser.newPage();
  await page.goto(dashboard.url);
  await payment.close(100);
  await waitForText(page, "#processes tr[data-name=payment] td.health", (t) => t === "DOWN", "payment's health");
  await waitForText(page, "#breakers tr[data-service=order][data-target=payment] td.state", (t) => t === "OPEN", "order's payment breaker");
  await waitForText(page, "#edges tr[data-caller=order][data-callee=payment] td.errors", (t) => parseFloat(t) > 0, "order→payment errors");
  await expect(page.locator("g.edge[data-caller=order][data-callee=payment]").getAttribute("class")).resolves.toMatch(/\b(failing|open)\b/);
  await page.close();
}, 60_000);

test("with Prometheus hung and Zipkin gone, the page still draws the mesh and says both are unavailable", async () => {
  // Prometheus accepts connections and never answers; Zipkin's port has nothing on it.
  const hung: Server = createServer(() => {});
  await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
  const hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
  const blind = await startDashboard({
    port: 0, prometheusUrl: hungUrl, zipkinUrl: `http://127.0.0.1:${closedPort}`, topology: mesh.topology, timeoutMs: 500,
    processes: () => [{ name: "order", kind: "service", port: order.port, health: "SERVING" }],
  });
  const page = await browser.newPage();
  try {
    const res = await page.goto(blind.url);
    expect(res?.status()).toBe(200);
    for (const name of Object.keys(mesh.topology.services)) await expect(page.locator(`g.node[data-service="${name}"]`).count()).resolves.toBe(1);
    await waitForText(page, "#prometheus-status", (t) => t.startsWith("unavailable"), "Prometheus's status", 10_000);
    await expect(page.locator("#prometheus-status").textContent()).resolves.toMatch(/timeout|aborted/i);
    await expect(page.locator("#zipkin-status").textContent()).resolves.toMatch(/^unavailable \(.*ECONNREFUSED/);
    await expect(page.locator("#edges tr[data-caller=order][data-callee=payment] td.rps").textContent()).resolves.toBe("no data");
    await expect(page.locator("#breakers tbody").textContent()).resolves.toBe("Prometheus unavailable");
    await expect(page.locator("#slowest tbody").textContent()).resolves.toBe("Zipkin unavailable");
    await expect(page.locator("#processes tr[data-name=order] td.health").textContent()).resolves.toBe("SERVING");
  } finally {
    await page.close();
    await blind.close();
    hung.close();
  }
}, 30_000);
