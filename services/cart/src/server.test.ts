// Cart component tests: the real cart in-process against the test run's Redis, a fixture
// catalog v2 on the real mesh serve(), and calls through the mesh client as the edge, over mTLS,
// with user JWTs.
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { closeClients, createClient, type MeshServer } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { parseCartConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";
import { startCatalogFixture } from "./testing/catalog-fixture.js";

const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
const redisPrefix = `test_${randomBytes(4).toString("hex")}:cart:`;
let mesh: TestMesh;
let catalog: MeshServer;
let client: Client<typeof CartService>;
let address: string;
let alice: { headers: Record<string, string> };
let bob: { headers: Record<string, string> };
const products = Array.from({ length: 55 }, (_, i) => ({ id: `p-${String(i).padStart(2, "0")}`, name: `Product ${i}`, priceMinor: 100 + i }));

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  mesh = await createTestMesh();
  catalog = await startCatalogFixture(mesh.config("catalog"), products);
  const config = parseCartConfig({ PORT: "0", ADMIN_PORT: "off", REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix, CATALOG_ADDR: `127.0.0.1:${catalog.port}` }, mesh.config("cart"));
  const { port } = await startServer(config);
  address = `127.0.0.1:${port}`;
  client = createClient(CartService, { target: "cart", address, config: mesh.config("edge"), retry: false, breaker: false });
  alice = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "alice" })}` } };
  bob = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "bob" })}` } };
}, 30_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  await catalog.close(100);
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${redisPrefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
  mesh.dispose();
});

test("AddItem adds and sums; GetCart returns items in product order; carts are per user", async () => {
  await client.addItem({ productId: "p-02", quantity: 2 }, alice);
  await client.addItem({ productId: "p-01", quantity: 1 }, alice);
  const res = await client.addItem({ productId: "p-02", quantity: 3 }, alice);
  expect(res.cart).toMatchObject({ userId: "alice", items: [{ productId: "p-01", quantity: 1 }, { productId: "p-02", quantity: 5 }] });
  expect((await client.getCart({}, alice)).cart!.items).toHaveLength(2);
  expect((await client.getCart({}, bob)).cart).toMatchObject({ userId: "bob", items: [] });
  const r = new Redis(redisUrl);
  expect(await r.ttl(`${redisPrefix}alice`)).toBeGreaterThan(7 * 24 * 3600 - 60);
  r.disconnect();
});

test("RemoveItem removes (absent is fine); EmptyCart empties (twice is fine)", async () => {
  await client.addItem({ productId: "p-03", quantity: 1 }, bob);
  await client.addItem({ productId: "p-04", quantity: 1 }, bob);
  expect((await client.removeItem({ productId: "p-03" }, bob)).cart!.items.map((i) => i.productId)).toEqual(["p-04"]);
  expect((await client.removeItem({ productId: "p-03" }, bob)).cart!.items.map((i) => i.productId)).toEqual(["p-04"]);
  await client.emptyCart({}, bob);
  await client.emptyCart({}, bob);
  expect((await client.getCart({}, bob)).cart!.items).toEqual([]);
});

test("RemoveOrderedItems: only order may call it, with no token; it takes the order's lines out once", async () => {
  const asOrder = createClient(CartService, { target: "cart", address, config: mesh.config("order"), retry: false, breaker: false });
  const carol = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "carol" })}` } };
  await client.addItem({ productId: "p-05", quantity: 2 }, carol);
  await client.addItem({ productId: "p-06", quantity: 1 }, carol);
  const req = { userId: "carol", orderId: "ord_carol1", lines: [{ productId: "p-05", quantity: 2 }] };
  await asOrder.removeOrderedItems(req);
  await asOrder.removeOrderedItems(req);
  expect((await client.getCart({}, carol)).cart!.items).toEqual([expect.objectContaining({ productId: "p-06", quantity: 1 })]);
  // The edge (any end user, even with a token) may not name another user's cart.
  expect((await failure(client.removeOrderedItems({ ...req, orderId: "ord_carol2", lines: [{ productId: "p-06", quantity: 1 }] }, carol))).code)
    .toBe(Code.PermissionDenied);
  expect((await client.getCart({}, carol)).cart!.items).toHaveLength(1);
  const bad = await failure(asOrder.removeOrderedItems({ userId: "", orderId: "x", lines: [{ productId: "bad id!", quantity: 0 }] }));
  expect(bad.code).toBe(Code.InvalidArgument);
  expect(bad.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)).sort())
    .toEqual(["lines[0].product_id", "lines[0].quantity", "order_id", "user_id"]);
  expect((await failure(asOrder.removeOrderedItems({ userId: "carol", orderId: "ord_carol3", lines: [] }))).code).toBe(Code.InvalidArgument);
});

test("quantity outside 1..99 and malformed product ids are InvalidArgument with field violations", async () => {
  const e = await failure(client.addItem({ productId: "bad id!", quantity: 0 }, alice));
  expect(e.code).toBe(Code.InvalidArgument);
  expect(e.findDetails(BadRequestSchema)[0]!.fieldViolations.map((v) => v.field).sort()).toEqual(["product_id", "quantity"]);
  expect((await failure(client.addItem({ productId: "p-01", quantity: 100 }, alice))).code).toBe(Code.InvalidArgument);
  expect((await failure(client.removeItem({ productId: '{"$ne":null}' }, alice))).code).toBe(Code.InvalidArgument);
});

test("a resulting quantity above 99 is InvalidArgument and changes nothing", async () => {
  await client.addItem({ productId: "p-05", quantity: 90 }, alice);
  const e = await failure(client.addItem({ productId: "p-05", quantity: 10 }, alice));
  expect(e.code).toBe(Code.InvalidArgument);
  expect(e.findDetails(BadRequestSchema)[0]!.fieldViolations[0]!.field).toBe("quantity");
  expect((await client.getCart({}, alice)).cart!.items.find((i) => i.productId === "p-05")!.quantity).toBe(90);
});

test("an unknown product is NotFound", async () => {
  expect((await failure(client.addItem({ productId: "nope", quantity: 1 }, alice))).code).toBe(Code.NotFound);
});

test("the 51st distinct product is FailedPrecondition", async () => {
  const carol = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "carol" })}` } };
  for (let i = 0; i < 50; i++) await client.addItem({ productId: products[i]!.id, quantity: 1 }, carol);
  expect((await failure(client.addItem({ productId: "p-50", quantity: 1 }, carol))).code).toBe(Code.FailedPrecondition);
});

test("no token is Unauthenticated; a caller other than edge/order is PermissionDenied", async () => {
  expect((await failure(client.getCart({}))).code).toBe(Code.Unauthenticated);
  const expired = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "alice", expiresIn: -60 })}` } };
  expect((await failure(client.getCart({}, expired))).code).toBe(Code.Unauthenticated);
  const stranger = createClient(CartService, { target: "cart", address, config: mesh.config("stranger"), retry: false, breaker: false });
  expect((await failure(stranger.getCart({}, alice))).code).toBe(Code.PermissionDenied);
});

test("with catalog down, a product catalog confirmed before still goes in; any other is Unavailable, and the open breaker then fails fast", async () => {
  await catalog.close(100);
  const dave = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "dave" })}` } };
  // p-01 was found earlier in this file. catalog has no delete, so cart does not ask again.
  expect((await client.addItem({ productId: "p-01", quantity: 2 }, dave)).cart!.items).toMatchObject([{ productId: "p-01", quantity: 2 }]);
  // p-54 exists in catalog, but cart never asked about it: it must ask, and catalog is down. The
  // breaker opens once failures reach half of the calls in its 10 s window, which still holds this
  // file's earlier successes: keep calling until it does (bounded).
  const errors: ConnectError[] = [];
  while (errors.length < 150 && !errors.at(-1)?.rawMessage.includes("circuit open")) {
    errors.push(await failure(client.addItem({ productId: "p-54", quantity: 1 }, alice)));
  }
  expect(errors.every((e) => e.code === Code.Unavailable)).toBe(true);
  expect(errors.at(-1)!.rawMessage).toBe("catalog is unavailable (circuit open)");
  const started = Date.now();
  await failure(client.addItem({ productId: "p-54", quantity: 1 }, alice));
  expect(Date.now() - started).toBeLessThan(200);
  // Reads do not need the catalog, nor does a known product.
  expect((await client.getCart({}, alice)).cart!.items.length).toBeGreaterThan(0);
  expect((await client.addItem({ productId: "p-01", quantity: 1 }, dave)).cart!.items).toMatchObject([{ productId: "p-01", quantity: 3 }]);
  expect((await client.getCart({}, alice)).cart!.items.some((i) => i.productId === "p-54")).toBe(false);
});
