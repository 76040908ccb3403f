// Payment component tests: the real service in-process on a free port, against the test run's
// real FerretDB and Redis, called over mTLS as "order" with a user JWT by the mesh client.
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import { closeClients, createClient, createTestMesh, type TestMesh } from "@shopmesh/mesh";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { ChargeStatus, PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import type { Processor } from "./domain/processor.js";
import { parsePaymentConfig } from "./config.js";
import { startServer, stopServer } from "./server.js";

const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
const tag = randomBytes(4).toString("hex");
const mongoDb = `test_payment_${tag}`;
const redisPrefix = `test_${tag}:payment:`;
let mesh: TestMesh;
let client: Client<typeof PaymentService>;
let headers: Record<string, string>;
let processorCalls = 0;
let address: string;

const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
const usd = (n: number) => ({ currencyCode: "USD", amountMinor: BigInt(n) });
const key = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  mesh = await createTestMesh();
  const config = parsePaymentConfig({ PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: mongoDb, REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix }, mesh.config("payment"));
  const counting = (p: Processor): Processor => ({ charge: (req, s) => { processorCalls++; return p.charge(req, s); } });
  const { port } = await startServer(config, { wrapProcessor: counting });
  address = `127.0.0.1:${port}`;
  client = createClient(PaymentService, { target: "payment", address, config: mesh.config("order"), retry: false, breaker: false });
  headers = { authorization: `Bearer ${await mesh.signToken({ sub: "user-1" })}` };
}, 30_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  const m = await MongoClient.connect(mongoUrl);
  await m.db(mongoDb).dropDatabase();
  await m.close();
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${redisPrefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
  mesh.dispose();
});

test("Charge succeeds once; a retry returns the same charge without a processor call", async () => {
  const k = key("ok");
  const before = processorCalls;
  const first = await client.charge({ idempotencyKey: k, amount: usd(1299), card }, { headers });
  expect(first.charge).toMatchObject({ idempotencyKey: k, status: ChargeStatus.SUCCEEDED, cardLast4: "4242" });
  expect(first.charge!.amount).toMatchObject({ currencyCode: "USD", amountMinor: 1299n });
  const again = await client.charge({ idempotencyKey: k, amount: usd(1299), card }, { headers });
  expect(again.charge!.id).toBe(first.charge!.id);
  expect(processorCalls - before).toBe(1);
});

test("50 concurrent Charge calls with one key: one processor call, one charge", async () => {
  const k = key("race");
  const before = processorCalls;
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => client.charge({ idempotencyKey: k, amount: usd(500), card }, { headers })));
  const ids = new Set(results.flatMap((r) => (r.status === "fulfilled" ? [r.value.charge!.id] : [])));
  expect(ids.size).toBe(1);
  // Losers wait for the winner; any that gave up did so with Aborted, never a second charge.
  for (const r of results) if (r.status === "rejected") expect(ConnectError.from(r.reason).code).toBe(Code.Aborted);
  expect(processorCalls - before).toBe(1);
  const m = await MongoClient.connect(mongoUrl);
  expect(await m.db(mongoDb).collection("charges").countDocuments({ key: k })).toBe(1);
  await m.close();
});

test("the same key with another amount or card is FailedPrecondition", async () => {
  const k = key("mismatch");
  await client.charge({ idempotencyKey: k, amount: usd(100), card }, { headers });
  expect((await codeOf(client.charge({ idempotencyKey: k, amount: usd(101), card }, { headers }))).code).toBe(Code.FailedPrecondition);
  const other = { ...card, number: "5555555555554444" };
  expect((await codeOf(client.charge({ idempotencyKey: k, amount: usd(100), card: other }, { headers }))).code).toBe(Code.FailedPrecondition);
});

test("test cards decline with their reason, consistently for the key", async () => {
  const k = key("declined");
  const declined = { ...card, number: "4000000000000002" };
  const e1 = await codeOf(client.charge({ idempotencyKey: k, amount: usd(100), card: declined }, { headers }));
  expect(e1.code).toBe(Code.FailedPrecondition);
  expect(e1.rawMessage).toContain("card_declined");
  const e2 = await codeOf(client.charge({ idempotencyKey: k, amount: usd(100), card: declined }, { headers }));
  expect(e2.rawMessage).toContain("card_declined");
  const e3 = await codeOf(client.charge({ idempotencyKey: key("nsf"), amount: usd(100), card: { ...card, number: "4000000000009995" } }, { headers }));
  expect(e3.rawMessage).toContain("insufficient_funds");
});

test("bad input is InvalidArgument with every field violation", async () => {
  const err = await codeOf(client.charge({
    idempotencyKey: "bad key!", amount: { currencyCode: "usd", amountMinor: 0n },
    card: { number: "4242424242424241", cvv: "12", expirationYear: 2020, expirationMonth: 13 },
  }, { headers }));
  expect(err.code).toBe(Code.InvalidArgument);
  const fields = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)).sort();
  expect(fields).toEqual(["amount.amount_minor", "amount.currency_code", "card.cvv", "card.expiration_month", "card.number", "idempotency_key"]);
  const expired = await codeOf(client.charge({ idempotencyKey: key("exp"), amount: usd(1), card: { ...card, expirationYear: 2001, expirationMonth: 1 } }, { headers }));
  expect(expired.findDetails(BadRequestSchema)[0]!.fieldViolations[0]).toMatchObject({ field: "card.expiration_month" });
  const huge = await codeOf(client.charge({ idempotencyKey: key("huge"), amount: usd(10_000_000_001), card }, { headers }));
  expect(huge.code).toBe(Code.InvalidArgument);
  const noCard = await codeOf(client.charge({ idempotencyKey: key("nocard"), amount: usd(1) }, { headers }));
  expect(noCard.findDetails(BadRequestSchema)[0]!.fieldViolations.map((v) => v.field)).toEqual(["card"]);
});

test("Refund is idempotent; GetCharge shows the refund", async () => {
  const { charge } = await client.charge({ idempotencyKey: key("refund"), amount: usd(700), card }, { headers });
  const r1 = await client.refund({ chargeId: charge!.id, reason: "customer asked" }, { headers });
  expect(r1.charge).toMatchObject({ status: ChargeStatus.REFUNDED, refundReason: "customer asked" });
  expect(r1.charge!.refundTime).toBeDefined();
  const r2 = await client.refund({ chargeId: charge!.id, reason: "again" }, { headers });
  expect(r2.charge).toMatchObject({ status: ChargeStatus.REFUNDED, refundReason: "customer asked" });
  const got = await client.getCharge({ chargeId: charge!.id }, { headers });
  expect(got.charge!.status).toBe(ChargeStatus.REFUNDED);
  // A Charge retry after the refund answers with the refunded charge, not a new one.
  const again = await client.charge({ idempotencyKey: charge!.idempotencyKey, amount: usd(700), card }, { headers });
  expect(again.charge).toMatchObject({ id: charge!.id, status: ChargeStatus.REFUNDED });
});

test("Refund and GetCharge: unknown ids are NotFound, malformed ones InvalidArgument", async () => {
  expect((await codeOf(client.refund({ chargeId: "ch_nope", reason: "" }, { headers }))).code).toBe(Code.NotFound);
  expect((await codeOf(client.getCharge({ chargeId: "ch_nope" }, { headers }))).code).toBe(Code.NotFound);
  expect((await codeOf(client.getCharge({ chargeId: "" }, { headers }))).code).toBe(Code.InvalidArgument);
  expect((await codeOf(client.refund({ chargeId: '{"$ne":null}', reason: "" }, { headers }))).code).toBe(Code.InvalidArgument);
  const { charge } = await client.charge({ idempotencyKey: key("longreason"), amount: usd(1), card }, { headers });
  expect((await codeOf(client.refund({ chargeId: charge!.id, reason: "x".repeat(501) }, { headers }))).code).toBe(Code.InvalidArgument);
});

test("only order may call payment, and only with a user token", async () => {
  const asEdge = createClient(PaymentService, { target: "payment", address, config: mesh.config("edge"), retry: false, breaker: false });
  expect((await codeOf(asEdge.getCharge({ chargeId: "ch_x" }, { headers }))).code).toBe(Code.PermissionDenied);
  expect((await codeOf(client.getCharge({ chargeId: "ch_x" }))).code).toBe(Code.Unauthenticated);
});

test("the card number and CVV are never stored", async () => {
  const k = key("pci");
  await client.charge({ idempotencyKey: k, amount: usd(42), card }, { headers });
  const m = await MongoClient.connect(mongoUrl);
  const doc = await m.db(mongoDb).collection("charges").findOne({ key: k });
  await m.close();
  const text = JSON.stringify(doc);
  expect(text).not.toContain("4242424242424242");
  expect(text).not.toContain('"123"');
  expect(doc).toMatchObject({ cardLast4: "4242", status: "SUCCEEDED" });
});
