// Against `make up MESH=istio`: the catalog canary (istio/components/canary) as a client sees it
// through the gateway, counted by each catalog replica's own metrics (grpc_server_started_total):
// the 90/10 split of v1 and v2, the x-shop-canary header sending every call to v2, and that
// header staying on the canary path through a whole checkout (each service forwards it).
import http2 from "node:http2";
import { randomUUID } from "node:crypto";
import { waitUntil } from "../chaos/mesh-control.js";
import { GOOD_CARD, grpcurl, grpcurlOk, newUser, recorded, withAdminRole, type Recorded } from "../e2e/support.js";

const procs = recorded();
const v1 = procs.filter((p) => /^catalog(-\d+)?$/.test(p.name));
const v2 = procs.filter((p) => p.name === "catalog-v2");

/** Calls a replica started, of every method but health and reflection. */
async function startedBy(replicas: Recorded[]): Promise<number> {
  let sum = 0;
  for (const r of replicas) {
    const text = await (await fetch(`http://127.0.0.1:${r.adminPort}/metrics`)).text();
    for (const l of text.split("\n")) {
      if (l.startsWith("grpc_server_started_total{") && l.includes('grpc_service="shop.catalog.')) sum += Number(l.split(" ").pop());
    }
  }
  return sum;
}

/** `n` ListProducts (v2, page_size 1) through the gateway over one HTTP/2 connection, `inFlight` at a time. */
async function listProducts(n: number, headers: Record<string, string> = {}, inFlight = 20): Promise<number> {
  const session = http2.connect("http://127.0.0.1:8080");
  let ok = 0;
  const one = () => new Promise<void>((resolve) => {
    const req = session.request({ ":method": "POST", ":path": "/shop.catalog.v2.CatalogService/ListProducts",
      "content-type": "application/grpc", te: "trailers", ...headers });
    req.on("trailers", (t) => { if (t["grpc-status"] === "0") ok++; });
    req.on("data", () => undefined);
    req.on("close", () => resolve());
    req.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
  });
  try {
    for (let i = 0; i < n; i += inFlight) await Promise.all(Array.from({ length: Math.min(inFlight, n - i) }, one));
  } finally {
    session.close();
  }
  return ok;
}

beforeAll(() => {
  if (v1.length === 0 || v2.length === 0) throw new Error("make up MESH=istio records no catalog v1 and v2 replicas");
});

test("without the header, 1,000 calls split 90/10 between v1 and v2, within 3 points (3 standard deviations)", async () => {
  const [a1, a2] = [await startedBy(v1), await startedBy(v2)];
  expect(await listProducts(1000)).toBe(1000);
  const [d1, d2] = [(await startedBy(v1)) - a1, (await startedBy(v2)) - a2];
  expect(d1 + d2).toBe(1000);
  expect(Math.abs(d2 / 1000 - 0.10)).toBeLessThanOrEqual(0.03);
}, 60_000);

test("with x-shop-canary: v2, every call goes to v2", async () => {
  const [a1, a2] = [await startedBy(v1), await startedBy(v2)];
  expect(await listProducts(200, { "x-shop-canary": "v2" })).toBe(200);
  expect([(await startedBy(v1)) - a1, (await startedBy(v2)) - a2]).toEqual([0, 200]);
}, 60_000);

test("a checkout with x-shop-canary: v2 stays on the canary: every catalog call of cart and order goes to v2", async () => {
  const user = newUser("canary");
  const canary = ["-H", "x-shop-canary: v2"];
  // A product nobody has added before: cart asks catalog only about a product it has not seen
  // (it remembers the ones catalog confirmed), so its check is sure to happen in this checkout.
  const id = `canary-${randomUUID().slice(0, 8)}`;
  grpcurlOk("shop.catalog.v2.CatalogService/UpsertProduct",
    { product: { id, name: "Canary mug", price: { currencyCode: "USD", amountMinor: 1200 }, categories: ["kitchen"], stock: 5 } }, await withAdminRole(user.token), canary);
  await waitUntil(`v2 serves ${id}`, () => grpcurl("shop.catalog.v2.CatalogService/GetProduct", { id }, undefined, canary).code === 0, 10_000);
  const [a1, a2] = [await startedBy(v1), await startedBy(v2)];
  grpcurlOk("shop.cart.v1.CartService/AddItem", { productId: id, quantity: 1 }, user.token, canary);
  const placed = grpcurlOk<{ order: { status: string } }>("shop.order.v1.OrderService/PlaceOrder",
    { requestId: randomUUID(), card: GOOD_CARD }, user.token, canary);
  expect(placed.order.status).toBe("ORDER_STATUS_CONFIRMED");
  const [d1, d2] = [(await startedBy(v1)) - a1, (await startedBy(v2)) - a2];
  // cart checks the product, order prices the cart: at least two catalog calls, none of them on v1.
  expect(d1).toBe(0);
  expect(d2).toBeGreaterThanOrEqual(2);
}, 60_000);
