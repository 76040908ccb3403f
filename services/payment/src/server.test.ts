// Payment component tests: the real service in-process on a free port, against the test run's
// real FerretDB and Redis, called over mTLS as "order" with a user JWT by the mesh client.
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import { closeClients, createClient } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { BadRequestSchema, ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
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
/** Captures the processor really made (a replayed answer is not one). */
let processorCalls = 0;
let address: string;

const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
const usd = (n: number) => ({ currencyCode: "USD", amountMinor: BigInt(n) });
const key = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

const reasonOf = (e: ConnectError) => e.findDetails(ErrorInfoSchema)[0];

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
  const counting = (p: Processor): Processor => ({
    ...p,
    capture: async (req, s) => {
      const r = await p.capture(req, s);
      if (r.approved && !r.replayed) processorCalls++;
      return r;
    },
  });
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
  await m.db(`${mongoDb}_processor`).dropDatabase();
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

test("50 concurrent Charge calls with one key: one capture, one charge, every caller answered with it", async () => {
  const k = key("race");
  const before = processorCalls;
  const results = await Promise.all(Array.from({ length: 50 }, () => client.charge({ idempotencyKey: k, amount: usd(500), card }, { headers })));
  expect(new Set(results.map((r) => r.charge!.id)).size).toBe(1);
  expect(processorCalls - before).toBe(1);
  const m = await MongoClient.connect(mongoUrl);
  expect(await m.db(mongoDb).collection("charges").countDocuments({ key: k })).toBe(1);
  expect(await m.db(`${mongoDb}_processor`).collection("entries").find({ _id: k as never }).toArray()).toEqual([expect.objectContaining({ kind: "capture", amountMinor: 500 })]);
  await m.close();
});

test("ResolveCharge answers what a key became; a key it found empty is closed, so a late Charge takes nothing", async () => {
  const charged = key("resolved");
  const { charge } = await client.charge({ idempotencyKey: charged, amount: usd(300), card }, { headers });
  // A settling caller has no end user: the workload identity is the check.
  expect((await client.resolveCharge({ idempotencyKey: charged })).charge).toMatchObject({ id: charge!.id, status: ChargeStatus.SUCCEEDED });

  const empty = key("never");
  const before = processorCalls;
  expect(await client.resolveCharge({ idempotencyKey: empty })).toMatchObject({ notChargedReason: "voided" });
  const late = await codeOf(client.charge({ idempotencyKey: empty, amount: usd(300), card }, { headers }));
  expect(late.code).toBe(Code.FailedPrecondition);
  expect(reasonOf(late)).toMatchObject({ reason: "CHARGE_VOIDED", domain: "payment.shop.local" });
  expect(processorCalls - before).toBe(0);
  expect(await client.resolveCharge({ idempotencyKey: empty })).toMatchObject({ notChargedReason: "voided" });

  const declined = key("resolve-declined");
  await codeOf(client.charge({ idempotencyKey: declined, amount: usd(300), card: { ...card, number: "4000000000000002" } }, { headers }));
  expect(await client.resolveCharge({ idempotencyKey: declined })).toMatchObject({ notChargedReason: "card_declined" });
  expect((await codeOf(client.resolveCharge({ idempotencyKey: "bad key!" }))).code).toBe(Code.InvalidArgument);
});

test("the same key with another amount or card is FailedPrecondition", async () => {
  const k = key("mismatch");
  await client.charge({ idempotencyKey: k, amount: usd(100), card }, { headers });
  const amount = await codeOf(client.charge({ idempotencyKey: k, amount: usd(101), card }, { headers }));
  expect(amount.code).toBe(Code.FailedPrecondition);
  // The reason a caller branches on, with the charge that holds the key.
  expect(reasonOf(amount)).toMatchObject({ reason: "IDEMPOTENCY_KEY_REUSED", domain: "payment.shop.local" });
  const other = { ...card, number: "5555555555554444" };
  expect(reasonOf(await codeOf(client.charge({ idempotencyKey: k, amount: usd(100), card: other }, { headers })))?.reason).toBe("IDEMPOTENCY_KEY_REUSED");
});

test("test cards decline with their reason, consistently for the key", async () => {
  const k = key("declined");
  const declined = { ...card, number: "4000000000000002" };
  const e1 = await codeOf(client.charge({ idempotencyKey: k, amount: usd(100), card: declined }, { headers }));
  expect(e1.code).toBe(Code.FailedPrecondition);
  expect(e1.rawMessage).toContain("card_declined");
  expect(reasonOf(e1)).toMatchObject({ reason: "CARD_DECLINED", metadata: { decline_reason: "card_declined" } });
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
  expect((await codeOf(asEdge.resolveCharge({ idempotencyKey: "k" }))).code).toBe(Code.PermissionDenied);
  expect((await codeOf(asEdge.refund({ chargeId: "ch_x", reason: "" }))).code).toBe(Code.PermissionDenied);
});

test("the card number and CVV are never stored", async () => {
  const k = key("pci");
  await client.charge({ idempotencyKey: k, amount: usd(42), card }, { headers });
  const m = await MongoClient.connect(mongoUrl);
  const doc = await m.db(mongoDb).collection("charges").findOne({ key: k });
  const ledger = await m.db(`${mongoDb}_processor`).collection("entries").findOne({ _id: k as never });
  await m.close();
  const text = JSON.stringify([doc, ledger]);
  expect(text).not.toContain("4242424242424242");
  expect(text).not.toContain('"123"');
  expect(doc).toMatchObject({ cardLast4: "4242" });
  expect(ledger).toMatchObject({ kind: "capture" });
});
