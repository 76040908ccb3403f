// The Redis product cache against the real Redis of jest's globalSetup: hits, misses, TTL, and
// behaviour while its connection is down.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createRedisProductCache } from "./product-cache.js";
import type { ProductRecord } from "./product-store.js";

const url = process.env.SHOP_TEST_REDIS_URL!;
const prefix = `test-cache-${randomBytes(4).toString("hex")}:`;
const errors: string[] = [];
let redis: Redis;
let admin: Redis;

function product(id: string, amountMinor = 100): ProductRecord {
  return { id, name: id, description: "", pictureUrl: "", price: { currencyCode: "USD", amountMinor }, categories: ["c"],
    stock: 1, updateTime: new Date("2026-01-02T03:04:05.000Z") };
}

beforeAll(async () => {
  // Reconnects 300 ms after a drop: a window in which the cache sees a connection that is not ready.
  redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true,
    retryStrategy: () => 300 });
  await redis.connect();
  admin = new Redis(url);
});

afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
  redis.disconnect();
});

test("misses, then hits with the same product, with a TTL", async () => {
  const cache = createRedisProductCache({ redis, prefix, ttlSeconds: 60, onError: (op) => errors.push(op) });
  expect((await cache.getMany(["a", "b"])).size).toBe(0);
  await cache.setMany([product("a"), product("b", 250)]);
  const hit = await cache.getMany(["a", "b", "c"]);
  expect([...hit.keys()].sort()).toEqual(["a", "b"]);
  expect(hit.get("b")).toEqual(product("b", 250));
  const ttl = await admin.ttl(`${prefix}product:a`);
  expect(ttl).toBeGreaterThan(50);
  expect(ttl).toBeLessThanOrEqual(60);
  // A corrupt entry is a miss, not a crash.
  await admin.set(`${prefix}product:c`, "{not json");
  expect((await cache.getMany(["c"])).size).toBe(0);
  expect(errors).toEqual([]);
});

test("while disconnected every call returns at once; a missed invalidation runs on reconnect", async () => {
  const cache = createRedisProductCache({ redis, prefix, ttlSeconds: 60, onError: (op) => errors.push(op) });
  await cache.setMany([product("stale")]);
  // Kill only this client's connection: the Redis is shared with other test files.
  const id = await redis.client("ID");
  const dropped = new Promise((r) => redis.once("reconnecting", r));
  await admin.client("KILL", "ID", String(id));
  await dropped;
  const ready = new Promise((r) => redis.once("ready", r));
  const t = performance.now();
  expect((await cache.getMany(["stale"])).size).toBe(0);
  await cache.setMany([product("x")]);
  await cache.invalidate("stale");
  expect(performance.now() - t).toBeLessThan(20);
  expect(errors).toEqual(["get", "set", "invalidate"]);
  // Still cached while we could not reach Redis...
  expect(await admin.exists(`${prefix}product:stale`)).toBe(1);
  await ready;
  // ...and dropped once the connection is back.
  for (let i = 0; i < 50 && (await admin.exists(`${prefix}product:stale`)) === 1; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await admin.exists(`${prefix}product:stale`)).toBe(0);
});
