// The Redis client of auth, cart, order and payment (catalog's: docs/architecture.md "What is
// written twice on purpose"). While Redis is down a call must fail at once (cart and auth answer
// Unavailable; order and payment fall back to MongoDB, the truth: docs/architecture.md "The
// store"), not wait in a queue, and the client reconnects by itself: no offline queue, one retry
// per command, bounded connect and command times. The driver loads when a service opens a
// client, not when it imports the runtime.
import type { Redis } from "ioredis";
import { traceRedis } from "./tracing.js";

/** Options of {@link openRedis}. */
export interface RedisClientOptions {
  /** A command without an answer in this time fails, ms (default 1000). */
  commandTimeoutMs?: number;
  /** Each connection error; ioredis emits one per reconnect attempt. Default: ignored, as every call reports its own. */
  onError?: (err: Error) => void;
  /** The first connect failed; the client keeps reconnecting in the background. */
  onConnectError?: (err: unknown) => void;
}

/** Opens a client and tries to connect once; resolves either way (calls fail fast until Redis is back). */
export async function openRedis(url: string, opts: RedisClientOptions = {}): Promise<Redis> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: opts.commandTimeoutMs ?? 1000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  redis.on("error", opts.onError ?? (() => {}));
  await traceRedis(redis); // tracing.ts: a span per command when tracing is on
  await redis.connect().catch((err: unknown) => opts.onConnectError?.(err));
  return redis;
}
