// The Redis fast path: finished charges by idempotency key, so a retried Charge, once MongoDB
// has refused its attempt's second insert, skips MongoDB's read (on FerretDB a read by _id scans).
// Best effort by design: Mongo is the truth, so every cache error is logged and ignored.
import type { Redis } from "ioredis";
import type { ChargeRecord } from "./charge-store.js";

/** A cache of finished (non-PENDING) charge records by idempotency key. */
export interface ChargeCache {
  get(key: string): Promise<ChargeRecord | undefined>;
  put(rec: ChargeRecord): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Options of the Redis charge cache. */
export interface RedisChargeCacheOptions {
  redis: Redis;
  /** Key prefix, "payment:" in production; tests use their own. */
  prefix: string;
  /** Entry lifetime, seconds; bounds how long a missed invalidation can show a stale status. */
  ttlSeconds?: number;
  /** Called with every swallowed error, for logs and metrics. */
  onError?: (err: unknown, op: string) => void;
}

/** Creates the Redis charge cache. */
export function createRedisChargeCache(opts: RedisChargeCacheOptions): ChargeCache {
  const ttl = opts.ttlSeconds ?? 3600;
  const k = (key: string) => `${opts.prefix}charge:${key}`;
  const report = opts.onError ?? (() => {});
  return {
    async get(key) {
      try {
        const raw = await opts.redis.get(k(key));
        return raw ? revive(JSON.parse(raw) as Record<string, unknown>) : undefined;
      } catch (err) {
        report(err, "get");
        return undefined;
      }
    },
    async put(rec) {
      if (rec.status === "PENDING") return;
      try {
        await opts.redis.set(k(rec.key), JSON.stringify(rec), "EX", ttl);
      } catch (err) {
        report(err, "put");
      }
    },
    async delete(key) {
      try {
        await opts.redis.del(k(key));
      } catch (err) {
        report(err, "delete");
      }
    },
  };
}

function revive(o: Record<string, unknown>): ChargeRecord {
  const rec = { ...o } as unknown as ChargeRecord;
  rec.createdAt = new Date(o.createdAt as string);
  if (o.refundedAt) rec.refundedAt = new Date(o.refundedAt as string);
  return rec;
}
