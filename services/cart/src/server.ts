// Wires cart: Redis store, catalog client (with its breaker), use cases, handlers, serve().
import { Code } from "@connectrpc/connect";
import { createClient, createLogger, NotFoundError, serve, upstreamError, type MeshServer } from "@shopmesh/mesh";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import type { CartConfig } from "./config.js";
import { createCart, rememberFound } from "./domain/cart.js";
import { createCartHandlers } from "./handlers.js";
import type { CartStore } from "./store/cart-store.js";
import { createRedisCartStore } from "./store/redis-cart-store.js";

let running: { server: MeshServer; store: CartStore } | undefined;

/** Starts the cart service; resolves with its ports once it serves. */
export async function startServer(config: CartConfig): Promise<{ port: number; adminPort?: number }> {
  const log = createLogger("cart");
  const store = await createRedisCartStore({
    url: config.redisUrl, prefix: config.redisPrefix, ttlSeconds: config.ttlSeconds,
    onError: (err) => log.warn({ err: (err as Error).message }, "redis connection error"),
  });
  const catalog = createClient(CatalogService, { target: "catalog", address: config.catalogAddr, config: config.mesh, defaultTimeoutMs: 1000 });
  const cart = createCart({
    store,
    // Catalog's NotFound is cart's own; any other failure keeps only its kind (mesh's upstreamError).
    productExists: rememberFound(async (id, signal) => {
      try {
        await catalog.getProduct({ id }, { signal });
      } catch (err) {
        throw upstreamError("catalog", err, (e) => (e.code === Code.NotFound ? new NotFoundError(`product ${id} not found`) : undefined));
      }
    }, config.knownProducts),
  });
  const server = await serve({
    name: "cart",
    port: config.port,
    adminPort: config.adminPort,
    config: config.mesh,
    services: [{ service: CartService, impl: createCartHandlers(cart) }],
    logger: log,
  });
  running = { server, store };
  return { port: server.port, adminPort: server.adminPort };
}

/** Drains in-flight calls, then closes the store. */
export async function stopServer(): Promise<void> {
  const r = running;
  running = undefined;
  if (!r) return;
  await r.server.close(5000);
  await r.store.close();
}
