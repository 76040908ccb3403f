// The saga's Upstreams over mesh clients. This is where transport outcomes become saga facts:
// which charge errors prove that nothing was taken, and which leave the outcome unknown.
import { Code, ConnectError } from "@connectrpc/connect";
import { breakersOf, CIRCUIT_OPEN, createClient, inboundCall, MESH_DOMAIN, PreconditionError, reasonOf, runWithInboundCall, type MeshConfig } from "@shopmesh/mesh";
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
      const res = await cart.getCart({}, { signal });
      return (res.cart?.items ?? []).map((i) => ({ productId: i.productId, quantity: i.quantity }));
    },
    async emptyCart(signal) {
      await detached(signal, () => cart.emptyCart({}, { signal }));
    },
    async getProducts(ids, signal) {
      try {
        const res = await catalog.batchGetProducts({ ids }, { signal });
        return res.products.map((p) => ({
          id: p.id, name: p.name, priceMinor: Number(p.price?.amountMinor ?? 0n), currency: p.price?.currencyCode ?? "",
        }));
      } catch (err) {
        // A product in the cart that the catalog no longer has: the cart must change first.
        if (err instanceof ConnectError && err.code === Code.NotFound) throw new PreconditionError(`the cart holds a product the catalog no longer sells: ${err.rawMessage}`);
        throw err;
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

// By the ErrorInfo reason payment (or our own breaker) gives, never by message text.
function classify(err: unknown): ChargeOutcome {
  const r = reasonOf(err);
  if (r?.domain === PAYMENT_DOMAIN) {
    // Payment's book says nothing is taken under this key, for good.
    if (r.reason === "CARD_DECLINED" || r.reason === "CHARGE_VOIDED") return { kind: "declined", error: err };
    // The processor failed before deciding: nothing taken by this call; a retry may charge.
    if (r.reason === "PROCESSOR_UNAVAILABLE") return { kind: "unsent", error: err };
    // Another attempt holds the key: what it became must be asked.
    if (r.reason === "IDEMPOTENCY_KEY_REUSED") return { kind: "ask", error: err, invalidRequest: false };
  }
  // Our breaker refused before sending.
  if (r?.domain === MESH_DOMAIN && r.reason === CIRCUIT_OPEN) return { kind: "unsent", error: err };
  // Payment refused the request itself (it checks the card against its own clock): this call
  // took nothing, but an earlier attempt under the key may have.
  if (err instanceof ConnectError && err.code === Code.InvalidArgument) return { kind: "ask", error: err, invalidRequest: true };
  return { kind: "unknown", error: err };
}

/** The ErrorInfo domain of payment's reasons (payment.proto). */
const PAYMENT_DOMAIN = "payment.shop.local";

// Runs fn with the inbound call's deadline replaced by the signal's own budget when the
// caller's signal is not the inbound one (compensation after the caller gave up).
function detached<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const call = inboundCall();
  if (!call || call.signal === signal) return fn();
  return runWithInboundCall({ ...call, signal, deadline: Date.now() + 5000 }, fn);
}
