// Order's RPCs: thin adapters from protobuf messages to the order use cases and back. The reads
// answer with bytes encoded once per record object: the index hands out the same object for a
// final order it keeps (store/order-index.ts), and records are never changed.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { currentUser, encoderOf, framed, UnauthenticatedError } from "@shopmesh/mesh";
import {
  GetOrderResponseSchema, ListOrdersResponseSchema, OrderSchema, OrderStatus, type OrderService,
} from "@shopmesh/gen/shop/order/v1/order_pb.js";
import type { Orders } from "./domain/orders.js";
import type { OrderRecord } from "./store/order-store.js";

/** The OrderService implementation over the order use cases. */
export function createOrderHandlers(orders: Orders): ServiceImpl<typeof OrderService> {
  const bytes = encoderOf(OrderSchema, toOrder);
  return {
    // A placed order is a new record each call: nothing to encode once.
    async placeOrder(req, ctx) {
      return { order: toOrder(await orders.placeOrder(userOf(ctx), req.requestId, req.card, ctx.signal)) };
    },
    async getOrder(req, ctx) {
      return framed(GetOrderResponseSchema, "order", [bytes(await orders.getOrder(userOf(ctx), req.orderId))]);
    },
    async listOrders(req, ctx) {
      const page = await orders.listOrders(userOf(ctx), req.pageSize, req.pageToken);
      return framed(ListOrdersResponseSchema, "orders", page.orders.map(bytes), { field: "nextPageToken", value: page.nextPageToken });
    },
  };
}

// mesh refuses these methods without a valid JWT; this guards a misconfigured topology.
function userOf(ctx: HandlerContext): string {
  const user = currentUser(ctx);
  if (!user) throw new UnauthenticatedError("a valid access token is required");
  return user.id;
}

const statusOf = { PENDING: OrderStatus.PENDING, CONFIRMED: OrderStatus.CONFIRMED, FAILED: OrderStatus.FAILED } as const;

/** The message of a record. */
export function toOrder(o: OrderRecord): MessageInitShape<typeof OrderSchema> {
  return {
    id: o.id,
    userId: o.userId,
    requestId: o.requestId,
    items: o.items.map((l) => ({
      productId: l.productId, name: l.name, quantity: l.quantity,
      unitPrice: { currencyCode: o.currency, amountMinor: BigInt(l.unitPriceMinor) },
    })),
    total: { currencyCode: o.currency, amountMinor: BigInt(o.totalMinor) },
    status: statusOf[o.status],
    chargeId: o.chargeId ?? "",
    failureReason: o.failureReason ?? "",
    createTime: timestampFromDate(o.createdAt),
  };
}
