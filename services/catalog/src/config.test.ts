// Config parsing: defaults, validation and the production-only requirements.
import { parseCatalogConfig } from "./config.js";

test("defaults follow the topology and the local mesh", () => {
  const c = parseCatalogConfig({});
  expect(c).toMatchObject({ mode: "local", port: 50052, adminPort: 9092, mongoDb: "shop_catalog", redisPrefix: "catalog:",
    viewResyncSeconds: 30, seed: true });
  expect(c.pageTokenSecret.length).toBeGreaterThanOrEqual(32);
});

test("bad values are all reported at once", () => {
  expect(() => parseCatalogConfig({ PORT: "70000", VIEW_RESYNC_SECONDS: "0", CATALOG_SEED: "maybe", PAGE_TOKEN_SECRET: "short" }))
    .toThrow(/PORT.*VIEW_RESYNC_SECONDS.*PAGE_TOKEN_SECRET.*CATALOG_SEED/);
});

test("istio mode needs a real page token secret", () => {
  expect(() => parseCatalogConfig({ MESH_MODE: "istio" })).toThrow(/PAGE_TOKEN_SECRET is required/);
  expect(parseCatalogConfig({ MESH_MODE: "istio", PAGE_TOKEN_SECRET: "s".repeat(32) }).mode).toBe("istio");
});
