// The money bugs of issue 12, one test each, on the real checkout path (FerretDB, Redis, gRPC over
// mTLS). Each failed on the code before the insert-once redesign; each ends with the books checked.
import { Code } from "@connectrpc/connect";
import { sleep } from "@shopmesh/mesh";
import { OrderStatus } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { checkInvariants } from "@shopmesh/books";
import { orderIdFor } from "./domain/orders.js";
import type { OrderStore } from "./store/order-store.js";
import { CARD, captureCounter, type CheckoutFixture, eventually, failureOf, LAMP, startCheckoutFixture } from "./testing/checkout-fixture.js";

const usd = (n: number) => ({ currencyCode: "USD", amountMinor: BigInt(n) });

async function expectBooksBalance(f: CheckoutFixture): Promise<void> {
  const report = await checkInvariants({ mongoUrl: f.mongoUrl, orderDb: f.orderDb, paymentDb: f.paymentDb });
  expect(report.violations).toEqual([]);
}

// Calls `fn` on the store method that receives an outcome with this status (whatever the
// method is called), so a test can fail or slow one write of the saga.
function onStatusWrite(status: string, fn: (write: () => Promise<unknown>) => Promise<unknown>): (s: OrderStore) => OrderStore {
  return (s) => new Proxy(s, {
    get(target, prop, receiver) {
      const f = Reflect.get(target, prop, receiver) as unknown;
      if (typeof f !== "function") return f;
      return (...args: unknown[]) => {
        const write = () => (f as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        return args.some((a) => (a as { status?: unknown } | null)?.status === status) ? fn(write) : write();
      };
    },
  });
}

test("bug 1: a key already charged with another card confirms the order with that charge; it is never FAILED with the money kept", async () => {
  const f = await startCheckoutFixture();
  try {
    const u = await f.user("ann");
    await f.cart.addItem({ productId: LAMP.id, quantity: 1 }, u);
    // An earlier attempt of this order charged the card with another expiry (the fingerprint differs).
    const orderId = orderIdFor(`ann-${f.tag}`, "r1");
    const first = await f.payment.charge({ idempotencyKey: orderId, amount: usd(LAMP.priceMinor), card: { ...CARD, expirationYear: 2098 } }, u);
    const { order } = await f.orders.placeOrder({ requestId: "r1", card: CARD }, u);
    expect(order).toMatchObject({ id: orderId, status: OrderStatus.CONFIRMED, chargeId: first.charge!.id });
    await expectBooksBalance(f);
  } finally {
    await f.stop();
  }
}, 20_000);

test("bug 2: a second caller while the first is stuck in the processor gets the same single capture", async () => {
  const counter = captureCounter();
  const f = await startCheckoutFixture({ wrapProcessor: counter.wrap });
  try {
    const u = await f.user("bob");
    const key = `k-${f.tag}`;
    counter.delayFirst(key, 16_000);
    const req = { idempotencyKey: key, amount: usd(999), card: CARD };
    const a = f.payment.charge(req, { ...u, timeoutMs: 30_000 });
    // Past payment's old 15 s lease, when the old code took the charge over and captured again.
    await sleep(15_500);
    const b = await f.payment.charge(req, { ...u, timeoutMs: 30_000 });
    expect((await a).charge!.id).toBe(b.charge!.id);
    expect(counter.count(key)).toBe(1);
  } finally {
    await f.stop();
  }
}, 45_000);

test("bug 3: a charge that timed out is settled by asking, never by charging again", async () => {
  const counter = captureCounter();
  const f = await startCheckoutFixture({ paymentEnv: { PAYMENT_FAULT_LATENCY_MS: "1500" }, wrapProcessor: counter.wrap });
  try {
    const u = await f.user("cy");
    await f.cart.addItem({ productId: LAMP.id, quantity: 1 }, u);
    expect((await failureOf(f.orders.placeOrder({ requestId: "slow", card: CARD }, { ...u, timeoutMs: 500 }))).code).toBe(Code.DeadlineExceeded);
    const orderId = orderIdFor(`cy-${f.tag}`, "slow");
    const settled = await eventually("order settled", 10_000, async () => {
      const { order } = await f.orders.getOrder({ orderId }, u);
      return order!.status === OrderStatus.PENDING ? undefined : order!;
    });
    expect(settled.status).toBe(OrderStatus.FAILED);
    // The cancelled attempt took nothing, and nothing was taken to find that out.
    expect(counter.count(orderId)).toBe(0);
    await expectBooksBalance(f);
  } finally {
    await f.stop();
  }
}, 30_000);

test("bug 4: two owners of one order (the first outlived its lease) agree on one outcome and one capture", async () => {
  const counter = captureCounter();
  let failNextConfirm = true;
  const shortLease = (s: OrderStore): OrderStore => ({
    ...s, reserve: (rec) => s.reserve({ ...rec, leaseUntil: new Date(Date.now() + 200) }),
  });
  const failFirstConfirm = onStatusWrite("CONFIRMED", (write) => {
    if (!failNextConfirm) return write();
    failNextConfirm = false;
    return Promise.reject(new Error("injected: confirm write failed"));
  });
  const f = await startCheckoutFixture({
    paymentEnv: { PAYMENT_FAULT_LATENCY_MS: "800" }, wrapProcessor: counter.wrap, wrapStore: (s) => failFirstConfirm(shortLease(s)),
  });
  try {
    const u = await f.user("di");
    await f.cart.addItem({ productId: LAMP.id, quantity: 1 }, u);
    const a = f.orders.placeOrder({ requestId: "twice", card: CARD }, u);
    await sleep(400);
    const b = f.orders.placeOrder({ requestId: "twice", card: CARD }, u);
    const answers = await Promise.allSettled([a, b]);
    const orderId = orderIdFor(`di-${f.tag}`, "twice");
    const final = await eventually("order settled", 10_000, async () => {
      const { order } = await f.orders.getOrder({ orderId }, u);
      return order!.status === OrderStatus.PENDING ? undefined : order!;
    });
    // Whatever a caller was told is what the order became.
    for (const r of answers) {
      if (r.status === "fulfilled") expect(r.value.order).toMatchObject({ id: orderId, status: final.status });
    }
    expect(counter.count(orderId)).toBe(1);
    await expectBooksBalance(f);
  } finally {
    await f.stop();
  }
}, 30_000);

test("bug 5: a confirmed order empties the cart even when the caller's deadline passed after the commit", async () => {
  const slowConfirm = onStatusWrite("CONFIRMED", async (write) => {
    const r = await write();
    await sleep(1000);
    return r;
  });
  const f = await startCheckoutFixture({ wrapStore: slowConfirm });
  try {
    const u = await f.user("ed");
    await f.cart.addItem({ productId: LAMP.id, quantity: 2 }, u);
    expect((await failureOf(f.orders.placeOrder({ requestId: "late", card: CARD }, { ...u, timeoutMs: 600 }))).code).toBe(Code.DeadlineExceeded);
    const orderId = orderIdFor(`ed-${f.tag}`, "late");
    await eventually("cart emptied", 5000, async () => ((await f.cart.getCart({}, u)).cart!.items.length === 0 ? true : undefined));
    expect((await f.orders.getOrder({ orderId }, u)).order!.status).toBe(OrderStatus.CONFIRMED);
    await expectBooksBalance(f);
  } finally {
    await f.stop();
  }
}, 20_000);

test("bug 5, the sweeper's path: an order the sweeper confirms takes exactly its lines out of the cart", async () => {
  const MUG = { id: "mug", name: "Mug", priceMinor: 900 };
  // This replica's CONFIRMED write hangs (as if it died right after the capture); the other
  // replica's sweeper finds the order abandoned, asks payment, and confirms it.
  const hang = onStatusWrite("CONFIRMED", async (write) => {
    await sleep(8000);
    return write();
  });
  const f = await startCheckoutFixture({ products: [LAMP, MUG], wrapStore: hang, orderEnv: { ORDER_LEASE_MS: "1000", ORDER_SWEEP_INTERVAL_MS: "300" } });
  try {
    await f.startOrderReplica({ ORDER_LEASE_MS: "1000", ORDER_SWEEP_INTERVAL_MS: "300" });
    const u = await f.user("hal");
    await f.cart.addItem({ productId: LAMP.id, quantity: 2 }, u);
    expect((await failureOf(f.orders.placeOrder({ requestId: "swept", card: CARD }, { ...u, timeoutMs: 1500 }))).code).toBe(Code.DeadlineExceeded);
    // Added while the order was being placed: not part of it, so it stays.
    await f.cart.addItem({ productId: MUG.id, quantity: 1 }, u);
    const orderId = orderIdFor(`hal-${f.tag}`, "swept");
    const settled = await eventually("order settled", 10_000, async () => {
      const { order } = await f.orders.getOrder({ orderId }, u);
      return order!.status === OrderStatus.PENDING ? undefined : order!;
    });
    expect(settled.status).toBe(OrderStatus.CONFIRMED);
    await eventually("the order's lines left the cart", 5000, async () => {
      const items = (await f.cart.getCart({}, u)).cart!.items;
      return items.length === 1 && items[0]!.productId === MUG.id ? true : undefined;
    });
    expect((await f.cart.getCart({}, u)).cart!.items).toEqual([expect.objectContaining({ productId: MUG.id, quantity: 1 })]);
    await expectBooksBalance(f);
  } finally {
    await f.stop();
  }
}, 40_000);

test("bug 6: the same request_id returns the same order after the cart changed, and leaves the new cart alone", async () => {
  const f = await startCheckoutFixture();
  try {
    const u = await f.user("flo");
    await f.cart.addItem({ productId: LAMP.id, quantity: 1 }, u);
    const first = (await f.orders.placeOrder({ requestId: "once", card: CARD }, u)).order!;
    expect(first.status).toBe(OrderStatus.CONFIRMED);
    await f.cart.addItem({ productId: LAMP.id, quantity: 3 }, u);
    const again = (await f.orders.placeOrder({ requestId: "once", card: CARD }, u)).order!;
    expect(again).toMatchObject({ id: first.id, status: OrderStatus.CONFIRMED, chargeId: first.chargeId, total: usd(LAMP.priceMinor) });
    expect((await f.cart.getCart({}, u)).cart!.items).toEqual([expect.objectContaining({ productId: LAMP.id, quantity: 3 })]);
    await expectBooksBalance(f);
  } finally {
    await f.stop();
  }
}, 20_000);

test("bug 7: an order left PENDING by a payment outage is settled by order itself, without a client retry", async () => {
  const f = await startCheckoutFixture({ orderEnv: { ORDER_LEASE_MS: "1000", ORDER_SWEEP_INTERVAL_MS: "300" } });
  try {
    const u = await f.user("gil");
    await f.cart.addItem({ productId: LAMP.id, quantity: 1 }, u);
    await f.stopPayment();
    expect((await failureOf(f.orders.placeOrder({ requestId: "outage", card: CARD }, u))).code).toBe(Code.Unavailable);
    const orderId = orderIdFor(`gil-${f.tag}`, "outage");
    await f.startPayment();
    const settled = await eventually("order settled", 15_000, async () => {
      const { order } = await f.orders.getOrder({ orderId }, u);
      return order!.status === OrderStatus.PENDING ? undefined : order!;
    });
    expect(settled.status).toBe(OrderStatus.FAILED);
    await expectBooksBalance(f);
  } finally {
    await f.stop();
  }
}, 30_000);
