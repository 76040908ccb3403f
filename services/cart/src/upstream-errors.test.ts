// The cart → catalog boundary: whatever catalog answers AddItem's product check with, cart's caller
// gets cart's own error (docs/architecture.md, "The error map"). The real cart against the test run's
// Redis, a scripted catalog v2 on the real mesh serve(), all over mTLS with user JWTs.
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { closeClients, createClient, serve, type MeshServer } from "@shopmesh/mesh";
import { answerOf, createTestMesh, deleteRedisKeys, upstreamFailure, type TestMesh } from "@shopmesh/mesh/testing";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { parseCartConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
const redisPrefix = `test_${randomBytes(4).toString("hex")}:cart:`;
let mesh: TestMesh;
let catalog: MeshServer;
let cart: Client<typeof CartService>;
let alice: { headers: Record<string, string> };
/** What the scripted catalog answers GetProduct with next; undefined: the product. */
let answer: ConnectError | undefined;

beforeAll(async () => {
  mesh = await createTestMesh();
  catalog = await serve({
    name: "catalog", port: 0, config: mesh.config("catalog"), reflection: false,
    services: [{ service: CatalogService, impl: {
      getProduct: (req: { id: string }) => {
        if (answer) throw answer;
        return { product: { id: req.id, name: "Mug", price: { currencyCode: "USD", amountMinor: 100n } } };
      },
    } }],
  });
  const { port } = await startServer(parseCartConfig({
    PORT: "0", ADMIN_PORT: "off", REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix, CATALOG_ADDR: `127.0.0.1:${catalog.port}`,
  }, mesh.config("cart")));
  cart = createClient(CartService, { target: "cart", address: `127.0.0.1:${port}`, config: mesh.config("edge"), retry: false, breaker: false });
  alice = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "alice" })}` } };
}, 30_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  await catalog.close(100);
  await deleteRedisKeys(redisUrl, redisPrefix);
  mesh.dispose();
});

async function addItemAnswer(upstream: ConnectError) {
  answer = upstream;
  try {
    await cart.addItem({ productId: "p-1", quantity: 1 }, alice);
  } catch (err) {
    return answerOf(ConnectError.from(err));
  } finally {
    answer = undefined;
  }
  throw new Error("expected AddItem to fail");
}

test.each(([
  // catalog broke: cart's caller learns only that cart failed.
  [Code.Internal, { code: "Internal", message: "internal error" }],
  // catalog refused cart itself (a topology mistake): not the caller's permission to fix.
  [Code.PermissionDenied, { code: "Internal", message: "internal error" }],
  // catalog is down or shedding load, or its own store timed out: the same kind, cart's words.
  [Code.Unavailable, { code: "Unavailable", message: "catalog is unavailable" }],
  [Code.ResourceExhausted, { code: "Unavailable", message: "catalog is unavailable" }],
  [Code.DeadlineExceeded, { code: "DeadlineExceeded", message: "catalog did not answer in time" }],
  // The business error cart's contract names: NOT_FOUND for an unknown product, in cart's words.
  [Code.NotFound, { code: "NotFound", message: "product p-1 not found" }],
] as const).map(([code, expected]) => [Code[code], code, expected] as const))("catalog answering %s reaches cart's caller as cart's own error, without catalog's message, details or trailers", async (_name, code, expected) => {
  expect(await addItemAnswer(upstreamFailure(code))).toEqual({ ...expected, details: [], leaks: false });
  // Nothing was added.
  expect((await cart.getCart({}, alice)).cart!.items).toEqual([]);
});
