// The Redis order index against a real redis-server: a user's orders page newest first, ties in
// the same millisecond by id, across page boundaries; nothing is listed before a rebuild marked
// it complete, and a dead Redis answers undefined (the caller reads MongoDB), never throws. The
// final views it keeps in the process answer without Redis; PENDING views are never kept.
import { Redis } from "ioredis";
import { startRedis, type TestStore } from "../../../../test/support/stores.js";
import { createRedisOrderIndex, type OrderIndex } from "./order-index.js";
import type { OrderRecord } from "./order-store.js";

let store: TestStore;
let redis: Redis;
let index: OrderIndex;

const at = new Date("2026-12-01T10:00:00.000Z").getTime();
const order = (id: string, ms: number, userId = "ana"): OrderRecord => ({
  id, userId, requestId: `r-${id}`, items: [{ productId: "lamp", name: "Lamp", quantity: 1, unitPriceMinor: 4200 }],
  currency: "USD", totalMinor: 4200, createdAt: new Date(at + ms), leaseUntil: new Date(at + ms + 30_000), status: "CONFIRMED", chargeId: `ch-${id}`,
});

beforeAll(async () => {
  store = await startRedis();
  redis = new Redis(store.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
  index = createRedisOrderIndex({ redis, prefix: "t:order:", cachedFinal: 0 });
}, 30_000);

afterAll(async () => {
  redis.disconnect();
  await store.stop();
});

test("lists nothing until the index is marked complete", async () => {
  expect(await index.put(order("ord_a", 0))).toBe(true);
  expect(await index.listIds("ana", 10)).toBeUndefined();
  expect(await index.markComplete(true)).toBe(true);
  expect(await index.listIds("ana", 10)).toEqual(["ord_a"]);
});

test("pages newest first, same-millisecond orders by id, and a cursor skips exactly what was shown", async () => {
  // ord_a at 0 ms (above), three orders in the same millisecond, one later, and another user's.
  for (const o of [order("ord_b", 5), order("ord_d", 5), order("ord_c", 5), order("ord_e", 9), order("ord_x", 7, "bob")]) {
    expect(await index.put(o)).toBe(true);
  }
  const all = ["ord_e", "ord_d", "ord_c", "ord_b", "ord_a"];
  expect(await index.listIds("ana", 10)).toEqual(all);
  const seen: string[] = [];
  let cursor: { createdAt: Date; id: string } | undefined;
  for (let page = 0; page < 5; page++) {
    const ids = (await index.listIds("ana", 2, cursor))!;
    if (ids.length === 0) break;
    seen.push(...ids);
    const last = ids[ids.length - 1]!;
    cursor = { createdAt: (await index.get(last))!.createdAt, id: last };
  }
  expect(seen).toEqual(all);
  expect(await index.listIds("bob", 10)).toEqual(["ord_x"]);
  expect(await index.listIds("nobody", 10)).toEqual([]);
});

test("answers undefined, and reports Redis's own error, when Redis is gone", async () => {
  const errors: string[] = [];
  // A Redis that ran and stopped: its port is closed.
  const gone = await startRedis();
  await gone.stop();
  const dead = new Redis(gone.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
  await dead.connect().catch(() => undefined);
  const broken = createRedisOrderIndex({ redis: dead, prefix: "t:order:", cachedFinal: 0, onError: (e, op) => errors.push(`${op}: ${(e as Error).message}`) });
  expect(await broken.listIds("ana", 10)).toBeUndefined();
  expect(await broken.listIds("ana", 10, { createdAt: new Date(at), id: "ord_b" })).toBeUndefined();
  expect(errors).toHaveLength(2);
  for (const e of errors) expect(e).toMatch(/^list: /);
  expect(errors[0]).not.toContain("order index read failed");
  dead.disconnect();
});

test("keeps the last final views read or written, answers them without Redis, and never keeps a PENDING one", async () => {
  const kept = createRedisOrderIndex({ redis, prefix: "t:kept:", cachedFinal: 2 });
  const pending: OrderRecord = { ...order("ord_p", 0), status: "PENDING", chargeId: undefined };
  for (const o of [order("ord_k1", 1), order("ord_k2", 2), pending]) expect(await kept.put(o)).toBe(true);
  // ord_k3 is only in Redis: written by another process.
  await redis.set("t:kept:view:ord_k3", JSON.stringify(order("ord_k3", 3)));
  // Redis loses every view: what is kept still answers, the rest is gone.
  const views = await kept.getMany(["ord_k1", "ord_k3", "ord_p", "ord_k2"]);
  expect(views?.map((v) => v?.id)).toEqual(["ord_k1", "ord_k3", "ord_p", "ord_k2"]);
  await redis.del("t:kept:view:ord_k1", "t:kept:view:ord_k2", "t:kept:view:ord_k3", "t:kept:view:ord_p");
  // The read above made ord_k3 and ord_k2 the newest two: ord_k1 was dropped.
  expect((await kept.getMany(["ord_k1", "ord_k2", "ord_k3", "ord_p"]))?.map((v) => v?.id)).toEqual([undefined, "ord_k2", "ord_k3", undefined]);
  expect((await kept.get("ord_k2"))?.createdAt).toEqual(new Date(at + 2));
  expect(await kept.get("ord_p")).toBeUndefined();
  // The same record object each time: handlers encode it once.
  expect(await kept.get("ord_k3")).toBe(await kept.get("ord_k3"));
});
