// Cart's RPCs: thin adapters from protobuf messages to the cart use cases and back.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { currentUser, UnauthenticatedError } from "@shopmesh/mesh";
import type { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import type { CartUseCases } from "./domain/cart.js";
import type { CartLine } from "./store/cart-store.js";

/** The CartService implementation over the cart use cases. */
export function createCartHandlers(cart: CartUseCases): ServiceImpl<typeof CartService> {
  return {
    async addItem(req, ctx) {
      const user = userOf(ctx);
      return { cart: toCart(user, await cart.addItem(user, req.productId, req.quantity, ctx.signal)) };
    },
    async removeItem(req, ctx) {
      const user = userOf(ctx);
      return { cart: toCart(user, await cart.removeItem(user, req.productId)) };
    },
    async getCart(_req, ctx) {
      const user = userOf(ctx);
      return { cart: toCart(user, await cart.getCart(user)) };
    },
    async emptyCart(_req, ctx) {
      await cart.emptyCart(userOf(ctx));
      return {};
    },
    // No end-user token: only order's mesh identity may call it (mesh/topology.json).
    async removeOrderedItems(req) {
      await cart.removeOrderedItems(req.userId, req.orderId, req.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })));
      return {};
    },
  };
}

// mesh refuses these methods without a valid JWT; this guards a misconfigured topology.
function userOf(ctx: HandlerContext): string {
  const user = currentUser(ctx);
  if (!user) throw new UnauthenticatedError("a valid access token is required");
  return user.id;
}

function toCart(userId: string, items: CartLine[]) {
  return { userId, items: items.map((l) => ({ productId: l.productId, quantity: l.quantity })) };
}
