// The saga's Upstreams over mesh clients. This is where transport outcomes become saga facts:
// which charge errors prove that nothing was taken, and which leave the outcome unknown; and
// where an upstream's error becomes order's own (mesh's upstreamError), before the saga sees it.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  breakersOf, type BusinessErrorMap, CIRCUIT_OPEN, createClient, inboundCall, MESH_DOMAIN, PreconditionError, reasonOf, runWithInboundCall,
  upstreamError, ValidationError, type MeshConfig,
} from "@shopmesh/mesh";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { ChargeStatus, PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { RecommendationService } from "@shopmesh/gen/shop/recommendation/v1/recommendation_pb.js";
import type { ChargeOutcome, Upstreams } from "./domain/upstreams.js";

/** Addresses of order's upstreams, host:port. */
export interface UpstreamAddresses {
  cart: string;
  catalog: string;
  payment: string;
  recommendation: string;
}

/** Creates the saga's Upstreams; calls carry the end user's token and trace (mesh does that). */
export function createUpstreamClients(mesh: MeshConfig, addr: UpstreamAddresses, opts: { recommendationMs: number }): Upstreams {
  const cart = createClient(CartService, { target: "cart", address: addr.cart, config: mesh });
  const catalog = createClient(CatalogService, { target: "catalog", address: addr.catalog, config: mesh });
  const payment = createClient(PaymentService, { target: "payment", address: addr.payment, config: mesh, defaultTimeoutMs: 5000 });
  const recommendation = createClient(RecommendationService, {
    target: "recommendation", address: addr.recommendation, config: mesh, defaultTimeoutMs: opts.recommendationMs, retry: false,
  });

  return {
    async getCart(signal) {
      const res = await cart.getCart({}, { signal }).catch((err: unknown) => { throw upstreamError("cart", err); });
      return (res.cart?.items ?? []).map((i) => ({ productId: i.productId, quantity: i.quantity }));
    },
    async removeOrderedItems(userId, orderId, lines, signal) {
      await detached(signal, () => cart.removeOrderedItems({ userId, orderId, lines }, { signal }));
    },
    async getProducts(ids, signal) {
      try {
        const res = await catalog.batchGetProducts({ ids }, { signal });
        return res.products.map((p) => ({
          id: p.id, name: p.name, priceMinor: Number(p.price?.amountMinor ?? 0n), currency: p.price?.currencyCode ?? "",
        }));
      } catch (err) {
        // A product in the cart that the catalog no longer has: the cart must change first.
        throw upstreamError("catalog", err, (e) => (e.code === Code.NotFound
          ? new PreconditionError("the cart holds a product the catalog no longer sells; remove it and place the order again") : undefined));
      }
    },
    async charge(req, signal): Promise<ChargeOutcome> {
      // Compensation calls pass their own signal after the caller's deadline: run them under
      // a copy of the inbound call with that budget, so mesh does not cap them by the old one.
      const run = () => payment.charge({
        idempotencyKey: req.key,
        amount: { currencyCode: req.currency, amountMinor: BigInt(req.amountMinor) },
        card: req.card,
      }, { signal });
      try {
        const res = await detached(signal, run);
        return { kind: "charged", chargeId: res.charge!.id, amountMinor: Number(res.charge!.amount?.amountMinor ?? 0n) };
      } catch (err) {
        return classify(err);
      }
    },
    async resolveCharge(key, signal) {
      const res = await detached(signal, () => payment.resolveCharge({ idempotencyKey: key }, { signal }));
      if (!res.charge) return { charged: false, reason: res.notChargedReason };
      return {
        charged: true, chargeId: res.charge.id, amountMinor: Number(res.charge.amount?.amountMinor ?? 0n),
        refunded: res.charge.status === ChargeStatus.REFUNDED,
      };
    },
    async refund(chargeId, reason, signal) {
      await detached(signal, () => payment.refund({ chargeId, reason }, { signal }));
    },
    async recordPurchase(orderId, items, signal) {
      await recommendation.recordPurchase({ orderId, items }, { signal });
    },
    paymentCircuitOpen() {
      // Open only when every breaker is: with replicas, each has its own.
      const breakers = breakersOf({ target: "payment", address: addr.payment, config: mesh });
      return breakers.length > 0 && breakers.every((b) => b.state() === "open");
    },
  };
}

// By the ErrorInfo reason payment (or our own breaker) gives, never by message text. Each outcome
// carries order's own error: payment's message and details never reach order's caller.
function classify(err: unknown): ChargeOutcome {
  const r = reasonOf(err);
  if (r?.domain === PAYMENT_DOMAIN) {
    // Payment's book says nothing is taken under this key, for good.
    if (r.reason === "CARD_DECLINED") {
      const why = r.metadata?.decline_reason ?? "";
      return { kind: "declined", error: new PreconditionError(`the card was declined (${/^[a-z_]{1,64}$/.test(why) ? why : "no reason given"})`) };
    }
    if (r.reason === "CHARGE_VOIDED") {
      return { kind: "declined", error: new PreconditionError("the charge was cancelled before it reached the processor; nothing was charged") };
    }
    // The processor failed before deciding: nothing taken by this call; a retry may charge.
    if (r.reason === "PROCESSOR_UNAVAILABLE") return { kind: "unsent", error: upstreamError("payment", err) };
    // Another attempt holds the key: what it became must be asked.
    if (r.reason === "IDEMPOTENCY_KEY_REUSED") {
      return { kind: "ask", error: new PreconditionError("an earlier attempt of this order used another card"), invalidRequest: false };
    }
  }
  // Our breaker refused before sending.
  if (r?.domain === MESH_DOMAIN && r.reason === CIRCUIT_OPEN) return { kind: "unsent", error: upstreamError("payment", err) };
  // Payment refused the request itself (it checks the card against its own clock): this call
  // took nothing, but an earlier attempt under the key may have.
  if (err instanceof ConnectError && err.code === Code.InvalidArgument) return { kind: "ask", error: upstreamError("payment", err, cardViolations), invalidRequest: true };
  return { kind: "unknown", error: upstreamError("payment", err) };
}

// Payment's violations of the card are violations of PlaceOrder's own `card` (the same
// shop.payment.v1.CreditCard, checked by the same rules, mesh/src/card.ts, by payment's clock);
// any other field is one order filled in, so a bug, not the caller's to fix.
const cardViolations: BusinessErrorMap = (e) => {
  const violations = e.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
  if (violations.length === 0 || !violations.every((v) => v.field === "card" || v.field.startsWith("card."))) return undefined;
  return new ValidationError(violations.map((v) => ({ field: v.field, description: v.description })));
};

/** The ErrorInfo domain of payment's reasons (payment.proto). */
const PAYMENT_DOMAIN = "payment.shop.local";

// Runs fn with the inbound call's deadline replaced by the signal's own budget when the
// caller's signal is not the inbound one (compensation after the caller gave up).
function detached<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const call = inboundCall();
  if (!call || call.signal === signal) return fn();
  return runWithInboundCall({ ...call, signal, deadline: Date.now() + 5000 }, fn);
}
