// Against `make up MESH=istio`: the chaos overlay (istio/overlays/chaos: on payment's routes, a
// 2 s delay for 20% of calls and an UNAVAILABLE abort for 10%), applied to the running mesh with
// `cli.js apply` (istiod pushes it, nothing restarts). Order's sidecar injects the faults on its
// calls to payment; its fault filter's counters give the rates, the saga compensates, and the
// money invariant holds over both databases. The default overlay is put back at the end.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { readCharges, readOrders } from "@shopmesh/books";
import { MongoClient } from "mongodb";
import { repo } from "../e2e/support.js";
import { createUnaryClient, newUser } from "../chaos/edge-client.js";
import { createBuyer, invariantsSettled, MONGO_URL, productIds, settleBuyers, type Buyer } from "../chaos/shop.js";
import { waitUntil } from "../chaos/mesh-control.js";
import { sidecar, stat, text } from "./envoy.js";

const BUYERS = 8;
const ORDERS_EACH = 6;
const edge = createUnaryClient();
const mongo = new MongoClient(MONGO_URL, { serverSelectionTimeoutMS: 5000 });
const order = sidecar("order");
const payment = sidecar("payment");
// Order's outbound HTTP connection manager for payment's port, on its egress IP.
const hcm = (counter: string) => new RegExp(`^http\\.outbound_[0-9.]+_50054;\\.${counter.replace(/\./g, "\\.")}$`);
const apply = (overlay: string) => execFileSync(process.execPath, [join(repo, "runner", "dist", "cli.js"), "apply", overlay], { cwd: repo });
/** How many of order's route configurations carry a fault (0 once the default overlay is back). */
const faultRoutes = async () => (await text(`http://127.0.0.1:${order.admin}/config_dump?resource=dynamic_route_configs`)).split("envoy.filters.http.fault").length - 1;

beforeAll(async () => {
  apply("istio/overlays/chaos");
  await waitUntil("order's sidecar has payment's faults", async () => (await faultRoutes()) > 0, 30_000, 200);
}, 60_000);

afterAll(async () => {
  apply("istio/overlays/default");
  await waitUntil("order's sidecar is back to no faults", async () => (await faultRoutes()) === 0, 30_000, 200);
  edge.close();
  await mongo.close();
}, 60_000);

test("the configured abort (10%) and delay (20%) are what order's calls to payment meet, within 3 standard deviations; the saga compensates and the books balance", async () => {
  const [product] = await productIds(edge, 1);
  const buyers: Buyer[] = await Promise.all(Array.from({ length: BUYERS }, async () => createBuyer(edge, await newUser(edge, "istio-chaos"), product!)));
  const before = { rq: await stat(order.admin, hcm("downstream_rq_total")), aborts: await stat(order.admin, hcm("fault.aborts_injected")),
    delays: await stat(order.admin, hcm("fault.delays_injected")), atPayment: await stat(payment.admin, /^http\.inbound_[0-9.]+_50054;\.downstream_rq_total$/) };
  const outcomes = (await Promise.all(buyers.map(async (b) => {
    const out = [];
    for (let i = 0; i < ORDERS_EACH; i++) out.push(await b.step(20_000));
    return out;
  }))).flat();
  await settleBuyers(buyers, 60_000);
  const n = (await stat(order.admin, hcm("downstream_rq_total"))) - before.rq;
  const aborts = (await stat(order.admin, hcm("fault.aborts_injected"))) - before.aborts;
  const delays = (await stat(order.admin, hcm("fault.delays_injected"))) - before.delays;
  const reached = (await stat(payment.admin, /^http\.inbound_[0-9.]+_50054;\.downstream_rq_total$/)) - before.atPayment;

  expect(n).toBeGreaterThanOrEqual(BUYERS * ORDERS_EACH);
  const within3Sigma = (count: number, p: number) => Math.abs(count / n - p) <= 3 * Math.sqrt((p * (1 - p)) / n);
  expect({ aborts, n, ok: within3Sigma(aborts, 0.10) }).toEqual({ aborts, n, ok: true });
  expect({ delays, n, ok: within3Sigma(delays, 0.20) }).toEqual({ delays, n, ok: true });
  // An aborted call never left order's sidecar.
  expect(reached).toBe(n - aborts);
  // The faults were felt: some checkouts did not confirm at the first attempt, and all ended.
  expect(outcomes.some((o) => o.code !== 0)).toBe(true);
  expect(buyers.every((b) => b.unsettled === undefined)).toBe(true);

  const inv = await invariantsSettled(30_000);
  expect(inv.violations).toEqual([]);
  const orders = await readOrders(mongo, { userId: { $in: buyers.map((b) => b.user.id) } });
  const charges = await readCharges(mongo, orders.map((o) => o.id));
  expect(orders.filter((o) => o.status === "PENDING")).toEqual([]);
  // Every confirmed order has its one charge, and no failed order kept money.
  const confirmed = orders.filter((o) => o.status === "CONFIRMED");
  expect(confirmed.length).toBe(buyers.reduce((s, b) => s + b.confirmed, 0));
  const charge = new Map(charges.map((c) => [c.id, c]));
  expect(confirmed.filter((o) => charge.get(o.chargeId ?? "")?.status !== "SUCCEEDED")).toEqual([]);
  const kept = new Set(charges.filter((c) => c.status === "SUCCEEDED").map((c) => c.key));
  expect(orders.filter((o) => o.status === "FAILED" && kept.has(o.id))).toEqual([]);
}, 300_000);
