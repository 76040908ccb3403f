import { openRedis } from "./redis.js";

test("with Redis down, opening resolves and reports it, and a command fails at once", async () => {
  let connectError: unknown;
  const redis = await openRedis("redis://127.0.0.1:1", { onConnectError: (err) => { connectError = err; } });
  try {
    expect(connectError).toBeDefined();
    const t0 = performance.now();
    await expect(redis.get("k")).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(500);
  } finally {
    redis.disconnect();
  }
});

test("with Redis up, the client is ready", async () => {
  const redis = await openRedis(process.env.SHOP_TEST_REDIS_URL!);
  try {
    expect(redis.status).toBe("ready");
    expect(await redis.ping()).toBe("PONG");
  } finally {
    redis.disconnect();
  }
});
