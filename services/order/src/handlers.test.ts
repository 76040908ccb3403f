// Order's responses, framed from bytes encoded once per record, are byte for byte what toBinary()
// writes for the same message: a page with and without a next token, an empty page, and GetOrder,
// for orders in each state.
import { create, toBinary, type DescMessage } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type EncodedMessage, isEncoded } from "@shopmesh/mesh";
import { GetOrderResponseSchema, ListOrdersResponseSchema } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import type { Orders } from "./domain/orders.js";
import { createOrderHandlers, toOrder } from "./handlers.js";
import type { OrderRecord } from "./store/order-store.js";

const at = new Date("2026-12-01T10:00:00.123Z");
const rec = (id: string, status: OrderRecord["status"], extra: Partial<OrderRecord> = {}): OrderRecord => ({
  id, userId: "ana", requestId: `r-${id}`, currency: "EUR", totalMinor: 12_345, createdAt: at, leaseUntil: at, status,
  items: [{ productId: "lamp", name: "Lampe à poser 💡", quantity: 3, unitPriceMinor: 4115 }], ...extra,
});
const records = [rec("ord_1", "CONFIRMED", { chargeId: "ch_1" }), rec("ord_2", "FAILED", { failureReason: "payment refused: card declined" }), rec("ord_3", "PENDING")];

// Only the handlers' mapping is under test: the use cases answer fixed records.
const orders = {
  placeOrder: async () => records[0]!,
  getOrder: async (_u: string, id: string) => records.find((r) => r.id === id)!,
  listOrders: async (_u: string, size: number, token: string) => ({ orders: records.slice(0, size), nextPageToken: token === "" ? "" : "next" }),
} as unknown as Orders;
const handlers = createOrderHandlers(orders);
const ctx = { values: { get: () => ({ id: "ana", roles: [] }) }, signal: new AbortController().signal } as unknown as HandlerContext;

function same(res: unknown, schema: DescMessage, init: object) {
  expect(isEncoded(res)).toBe(true);
  expect((res as EncodedMessage).schema.typeName).toBe(schema.typeName);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const want = toBinary(schema, create(schema, init as any));
  expect(Buffer.from((res as EncodedMessage).bytes).equals(Buffer.from(want))).toBe(true);
}

test.each([[3, "t"], [3, ""], [0, ""]])("ListOrders of %i orders, token %j, is what toBinary writes", async (size, token) => {
  const res = await handlers.listOrders({ pageSize: size, pageToken: token } as never, ctx);
  same(res, ListOrdersResponseSchema, { orders: records.slice(0, size).map(toOrder), nextPageToken: token === "" ? "" : "next" });
});

test("GetOrder is what toBinary writes, in every state", async () => {
  for (const r of records) same(await handlers.getOrder({ orderId: r.id } as never, ctx), GetOrderResponseSchema, { order: toOrder(r) });
});
