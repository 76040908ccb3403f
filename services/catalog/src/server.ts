// Wires catalog: the Mongo store, the in-memory view and its sync, the Redis change events, the use
// cases, and both API versions' handlers, hosted by one mesh serve().
import { Redis } from "ioredis";
import { createLogger, meshRegistry, serve, traceRedis, type MeshConfig, type MeshServer } from "@shopmesh/mesh";
import { CatalogService as CatalogV1 } from "@shopmesh/gen/shop/catalog/v1/catalog_pb.js";
import { CatalogService as CatalogV2 } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import type { CatalogConfig } from "./config.js";
import { createCatalog } from "./domain/catalog.js";
import { createPageTokens } from "./domain/page-token.js";
import { catalogV1Handlers, catalogV2Handlers } from "./handlers.js";
import { createRedisErrorSink } from "./redis-errors.js";
import { seedCatalog } from "./seed/seed.js";
import { createMongoProductStore } from "./store/mongo-product-store.js";
import { createRedisProductEvents } from "./store/product-events.js";
import { createProductView } from "./store/product-view.js";
import { startViewSync } from "./store/view-sync.js";

/** What startServer needs: catalog's own config plus the mesh's. */
export type CatalogServerConfig = CatalogConfig & { mesh: MeshConfig };

const running = new Set<() => Promise<void>>();

/**
 * Starts catalog; resolves with the bound ports. The view loads (after seeding missing fixture
 * products, when configured) before the server reports SERVING. When MongoDB is down at start it
 * serves anyway, NOT_SERVING and answering reads Unavailable, and keeps trying until it loads.
 */
export async function startServer(config: CatalogServerConfig): Promise<{ port: number; adminPort?: number }> {
  const log = createLogger("catalog");
  const store = createMongoProductStore({ url: config.mongoUrl, db: config.mongoDb });
  // Fails fast while Redis is down (no offline queue, one retry) and reconnects by itself: only
  // change events need it, so a dead Redis must cost UpsertProduct microseconds, not a timeout.
  const redis = new Redis(config.redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  const redisError = createRedisErrorSink(meshRegistry, log);
  redis.on("error", (err: Error) => redisError("connection", err));
  // A span per command when tracing is on; the subscriber, a duplicate(), is left out: its
  // messages arrive outside any call.
  await traceRedis(redis);
  await new Promise<void>((resolve) => {
    // Give Redis a moment at start so the view subscribes to changes before it loads; serve without it otherwise.
    const timer = setTimeout(resolve, 2_000);
    redis.once("ready", () => { clearTimeout(timer); resolve(); });
  });

  const events = createRedisProductEvents({ redis, prefix: config.redisPrefix });
  const view = createProductView();
  const sync = await startViewSync({
    view, events, load: () => store.all(), periodMs: config.viewResyncSeconds * 1_000,
    prepare: config.seed ? async () => {
      const added = await seedCatalog(store);
      if (added > 0) log.info({ added }, "seeded catalog");
    } : undefined,
    onError: (err) => log.warn({ err: err instanceof Error ? err.message : String(err) }, "catalog view not reloaded; serving what it holds"),
    onLoad: (r) => { if (r.changed > 0) log.info(r, "catalog view reloaded"); },
  });
  const catalog = createCatalog({ store, view, events, tokens: createPageTokens(config.pageTokenSecret),
    onPublishError: (err) => redisError("publish", err) });
  await sync.first;

  let server: MeshServer;
  try {
    server = await serve({
      name: "catalog",
      port: config.port,
      adminPort: config.adminPort,
      services: [
        { service: CatalogV1, impl: catalogV1Handlers(catalog) },
        { service: CatalogV2, impl: catalogV2Handlers(catalog) },
      ],
      config: config.mesh,
      logger: log,
      // The edge's reflection target: catalog, the browse service every shopper reaches first,
      // lists every service of the contracts, so `grpcurl 127.0.0.1:8080 list` shows them all
      // without a process of its own for it (docs/architecture.md, "Reflection").
      reflection: { all: true },
    });
  } catch (err) {
    await sync.close();
    await events.close();
    redis.disconnect();
    await store.close();
    throw err;
  }
  let closing = false;
  if (!view.loaded) {
    // serve() reported SERVING; nothing ran in between, so no probe saw it.
    server.health.setServing(false);
    log.warn("catalog serving without its view (MongoDB unavailable): NOT_SERVING until it loads");
    void sync.loaded.then(() => {
      if (closing) return;
      server.health.setServing(true);
      log.info({ products: view.size }, "catalog view loaded; SERVING");
    });
  }
  const stop = async () => {
    closing = true;
    // Watch streams end when serve() aborts their signals; then the subscriber can go.
    await server.close(5_000);
    await sync.close();
    await events.close();
    redis.disconnect();
    await store.close();
  };
  running.add(stop);
  log.info({ port: server.port, adminPort: server.adminPort, products: view.size }, "catalog serving");
  return server.adminPort === undefined ? { port: server.port } : { port: server.port, adminPort: server.adminPort };
}

/** Stops every server startServer started in this process. */
export async function stopServer(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((s) => s()));
}

/** Seeds the store and exits: for `node services/catalog/dist/main.js --seed-only`. */
export async function seedOnly(config: CatalogConfig): Promise<number> {
  const store = createMongoProductStore({ url: config.mongoUrl, db: config.mongoDb });
  try {
    return await seedCatalog(store);
  } finally {
    await store.close();
  }
}
