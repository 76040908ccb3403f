// Payment's fault knobs, with its own server (one server per test file):
// PAYMENT_FAULT_FAILURE_RATE=1 fails every charge with Unavailable and charges nothing.
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { MongoClient } from "mongodb";
import { closeClients, createClient } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { startRedis, type TestStore } from "../../../test/support/stores.js";
import { parsePaymentConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
const mongoDb = `test_payment_faults_${randomBytes(4).toString("hex")}`;
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
    PAYMENT_FAULT_FAILURE_RATE: "1", PAYMENT_FAULT_LATENCY_MS: "20",
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

test("a failing processor gives Unavailable with reason PROCESSOR_UNAVAILABLE and takes nothing", async () => {
  const k = `fault-${randomBytes(4).toString("hex")}`;
  const err = await client.charge({ idempotencyKey: k, amount, card }, { headers }).then(() => undefined, (e: unknown) => ConnectError.from(e));
  expect(err?.code).toBe(Code.Unavailable);
  expect(err?.rawMessage).toBe("processor unavailable");
  expect(err?.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "PROCESSOR_UNAVAILABLE", domain: "payment.shop.local" });
  const m = await MongoClient.connect(mongoUrl);
  // Nothing in the processor's book, so a retry after it recovers may charge; and no outcome.
  expect(await m.db(`${mongoDb}_processor`).collection("entries").countDocuments({})).toBe(0);
  expect(await m.db(mongoDb).collection("outcomes").countDocuments({})).toBe(0);
  await m.close();
});
