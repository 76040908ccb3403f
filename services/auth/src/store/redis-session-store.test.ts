// Refresh-token families and the login limiter against the real Redis of jest's globalSetup.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createRedisLoginLimiter, createRedisSessionStore } from "./redis-session-store.js";

const prefix = `test-auth-${randomBytes(4).toString("hex")}:`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(process.env.SHOP_TEST_REDIS_URL!, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

test("rotation hands out a successor once; reuse revokes the family", async () => {
  const s = createRedisSessionStore({ redis, prefix, ttlSeconds: 60 });
  await s.startFamily("t1", "u1", "f1");
  expect(await s.rotate("t1", "t2")).toEqual({ state: "active", userId: "u1", familyId: "f1" });
  expect(await s.rotate("t2", "t3")).toEqual({ state: "active", userId: "u1", familyId: "f1" });
  // t1 was rotated already: presenting it again is theft or a bug, so the family dies...
  expect(await s.rotate("t1", "t4")).toEqual({ state: "reused", userId: "u1", familyId: "f1" });
  // ...including the newest token, and no successor was stored.
  expect(await s.rotate("t3", "t5")).toEqual({ state: "invalid" });
  expect(await redis.exists(`${prefix}rt:t4`)).toBe(0);
  expect(await s.rotate("never-issued", "t6")).toEqual({ state: "invalid" });
});

test("concurrent rotations of one token: exactly one wins", async () => {
  const s = createRedisSessionStore({ redis, prefix, ttlSeconds: 60 });
  await s.startFamily("c1", "u2", "f2");
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => s.rotate("c1", `c1-next-${i}`)));
  expect(results.filter((r) => r.state === "active")).toHaveLength(1);
  expect(results.filter((r) => r.state === "reused")).toHaveLength(9);
});

test("revoking a family stops its tokens; familyOf finds it", async () => {
  const s = createRedisSessionStore({ redis, prefix, ttlSeconds: 60 });
  await s.startFamily("r1", "u3", "f3");
  expect(await s.familyOf("r1")).toBe("f3");
  expect(await s.familyOf("nope")).toBeUndefined();
  await s.revokeFamily("f3");
  expect(await s.rotate("r1", "r2")).toEqual({ state: "invalid" });
  expect(await redis.ttl(`${prefix}rt:r1`)).toBeGreaterThan(0);
});

test("login limiter counts attempts per email within a window, atomically", async () => {
  const l = createRedisLoginLimiter({ redis, prefix, windowSeconds: 1 });
  expect(await l.attempt("a@example.com")).toBe(1);
  expect(await l.attempt("a@example.com")).toBe(2);
  expect(await l.attempt("b@example.com")).toBe(1);
  await l.reset("a@example.com");
  expect(await l.attempt("a@example.com")).toBe(1);
  const parallel = await Promise.all(Array.from({ length: 20 }, () => l.attempt("c@example.com")));
  expect([...parallel].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  await new Promise((r) => setTimeout(r, 1_100));
  expect(await l.attempt("a@example.com")).toBe(1);
});
