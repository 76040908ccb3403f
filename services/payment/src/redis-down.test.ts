// Payment with its Redis (the fast path) killed mid-test: charging goes on from Mongo, the
// truth, and a retried key still finds its charge.
import { randomBytes } from "node:crypto";
import type { Client } from "@connectrpc/connect";
import { MongoClient } from "mongodb";
import { closeClients, createClient } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { startRedis, type TestStore } from "../../../test/support/stores.js";
import { parsePaymentConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
const mongoDb = `test_payment_redis_${randomBytes(4).toString("hex")}`;
let mesh: TestMesh;
let redis: TestStore;
let client: Client<typeof PaymentService>;
let headers: Record<string, string>;
const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
const amount = { currencyCode: "EUR", amountMinor: 999n };

beforeAll(async () => {
  mesh = await createTestMesh();
  redis = await startRedis();
  const config = parsePaymentConfig({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: mongoDb, REDIS_URL: redis.url,
  }, mesh.config("payment"));
  const { port } = await startServer(config);
  client = createClient(PaymentService, { target: "payment", address: `127.0.0.1:${port}`, config: mesh.config("order"), retry: false, breaker: false });
  headers = { authorization: `Bearer ${await mesh.signToken({ sub: "user-f" })}` };
}, 30_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  await redis.stop();
  const m = await MongoClient.connect(mongoUrl);
  await m.db(mongoDb).dropDatabase();
  await m.db(`${mongoDb}_processor`).dropDatabase();
  await m.close();
  mesh.dispose();
});

test("with Redis dead, Charge still charges once and a retry finds the charge", async () => {
  const first = await client.charge({ idempotencyKey: "before-kill", amount, card }, { headers });
  await redis.stop();
  const started = Date.now();
  const again = await client.charge({ idempotencyKey: "before-kill", amount, card }, { headers });
  expect(again.charge!.id).toBe(first.charge!.id);
  const fresh = await client.charge({ idempotencyKey: "after-kill", amount, card }, { headers });
  const retry = await client.charge({ idempotencyKey: "after-kill", amount, card }, { headers });
  expect(retry.charge!.id).toBe(fresh.charge!.id);
  expect(Date.now() - started).toBeLessThan(5000);
});
