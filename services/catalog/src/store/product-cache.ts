// Read-through cache of products in Redis, as "catalog:product:<id>" JSON with a TTL. The cache is
// an optimization only: every method swallows Redis failures (reporting them to onError), so a
// dead Redis makes catalog slower, never wrong and never failing.
import type { Redis } from "ioredis";
import { decodeProduct, encodeProduct } from "./product-codec.js";
import type { ProductRecord } from "./product-store.js";

/** The cache operations; none of them throws. */
export interface ProductCache {
  /** The cached products among ids (misses are simply absent). */
  getMany(ids: string[]): Promise<Map<string, ProductRecord>>;
  /** Caches products; returns when written or given up. */
  setMany(products: ProductRecord[]): Promise<void>;
  /** Drops a product's entry after a write. */
  invalidate(id: string): Promise<void>;
}

/** Options of the Redis product cache. */
export interface RedisProductCacheOptions {
  /** A shared ioredis client (enableOfflineQueue false, so a dead Redis fails fast). */
  redis: Redis;
  /** Key prefix, "catalog:" in production. */
  prefix: string;
  /** Entry lifetime; bounds staleness if an invalidation is ever lost. */
  ttlSeconds: number;
  /** Told about every skipped or failed cache operation. */
  onError: (op: "get" | "set" | "invalidate", err: unknown) => void;
}

/** Creates the cache. */
export function createRedisProductCache(opts: RedisProductCacheOptions): ProductCache {
  const { redis, prefix, ttlSeconds, onError } = opts;
  const key = (id: string) => `${prefix}product:${id}`;
  // Awaiting a command on a connection ioredis already knows is down costs a round of rejection
  // handling per call; checking status first keeps the Redis-down path as fast as Mongo alone.
  const down = () => redis.status !== "ready";
  // Invalidations that could not reach Redis are retried when it is back: a network blip must not
  // leave a stale price cached for a whole TTL. (A restarted Redis without persistence is empty anyway.)
  const pending = new Set<string>();
  redis.on("ready", () => {
    if (pending.size === 0) return;
    const ids = [...pending];
    pending.clear();
    redis.del(...ids.map(key)).catch((err: unknown) => {
      for (const id of ids) pending.add(id);
      onError("invalidate", err);
    });
  });
  return {
    async getMany(ids) {
      const found = new Map<string, ProductRecord>();
      if (ids.length === 0) return found;
      if (down()) {
        onError("get", new Error(`redis ${redis.status}`));
        return found;
      }
      try {
        const values = await redis.mget(ids.map(key));
        values.forEach((v, i) => {
          const p = v === null ? undefined : decodeProduct(v);
          if (p) found.set(ids[i]!, p);
        });
      } catch (err) {
        onError("get", err);
      }
      return found;
    },
    async setMany(products) {
      if (products.length === 0) return;
      if (down()) {
        onError("set", new Error(`redis ${redis.status}`));
        return;
      }
      try {
        const pipe = redis.pipeline();
        for (const p of products) pipe.set(key(p.id), encodeProduct(p), "EX", ttlSeconds);
        const results = await pipe.exec();
        const failed = results?.find(([err]) => err);
        if (failed) onError("set", failed[0]);
      } catch (err) {
        onError("set", err);
      }
    },
    async invalidate(id) {
      if (down()) {
        pending.add(id);
        onError("invalidate", new Error(`redis ${redis.status}`));
        return;
      }
      try {
        await redis.del(key(id));
      } catch (err) {
        pending.add(id);
        onError("invalidate", err);
      }
    },
  };
}
