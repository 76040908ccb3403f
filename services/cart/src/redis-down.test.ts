// Cart with its Redis killed mid-test: every RPC answers Unavailable quickly instead of hanging,
// and cart recovers by itself when Redis is back on the same port.
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { closeClients, createClient, type MeshServer } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { startRedis, type TestStore } from "../../../test/support/stores.js";
import { parseCartConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";
import { startCatalogFixture } from "./testing/catalog-fixture.js";

let mesh: TestMesh;
let redis: TestStore;
let catalog: MeshServer;
let client: Client<typeof CartService>;
let auth: { headers: Record<string, string> };

beforeAll(async () => {
  mesh = await createTestMesh();
  redis = await startRedis();
  catalog = await startCatalogFixture(mesh.config("catalog"), [{ id: "p1", name: "P1", priceMinor: 100 }]);
  const config = parseCartConfig({ PORT: "0", ADMIN_PORT: "off", REDIS_URL: redis.url, CATALOG_ADDR: `127.0.0.1:${catalog.port}` }, mesh.config("cart"));
  const { port } = await startServer(config);
  client = createClient(CartService, { target: "cart", address: `127.0.0.1:${port}`, config: mesh.config("edge"), retry: false, breaker: false });
  auth = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "dave" })}` } };
}, 30_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  await catalog.close(100);
  await redis.stop();
  mesh.dispose();
});

test("Redis down: every RPC is Unavailable within a second; back up: cart serves again", async () => {
  await client.addItem({ productId: "p1", quantity: 1 }, auth);
  await redis.stop();
  const calls = [
    client.addItem({ productId: "p1", quantity: 1 }, auth),
    client.removeItem({ productId: "p1" }, auth),
    client.getCart({}, auth),
    client.emptyCart({}, auth),
  ];
  const started = Date.now();
  for (const c of calls) {
    const err = await c.then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toBe("cart store unavailable");
  }
  expect(Date.now() - started).toBeLessThan(1000);
  redis = await startRedis({ port: redis.port });
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      expect((await client.getCart({}, auth)).cart!.items).toEqual([]);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
