// Payment's RPCs: thin adapters from protobuf messages to the use cases and back.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { ChargeStatus, type PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import type { Payments } from "./domain/payments.js";
import type { ChargeRecord } from "./store/charge-store.js";

/** The PaymentService implementation over the payment use cases. */
export function createPaymentHandlers(payments: Payments): ServiceImpl<typeof PaymentService> {
  return {
    async charge(req, ctx) {
      const rec = await payments.charge({ idempotencyKey: req.idempotencyKey, amount: req.amount, card: req.card }, ctx.signal);
      return { charge: toCharge(rec) };
    },
    async resolveCharge(req, ctx) {
      const r = await payments.resolve(req.idempotencyKey, ctx.signal);
      return "charge" in r ? { charge: toCharge(r.charge) } : { notChargedReason: r.notChargedReason };
    },
    async refund(req, ctx) {
      return { charge: toCharge(await payments.refund(req.chargeId, req.reason, ctx.signal)) };
    },
    async getCharge(req) {
      return { charge: toCharge(await payments.getCharge(req.chargeId)) };
    },
  };
}

function toCharge(rec: ChargeRecord) {
  return {
    id: rec.id,
    idempotencyKey: rec.key,
    amount: { currencyCode: rec.currency, amountMinor: BigInt(rec.amountMinor) },
    status: rec.status === "REFUNDED" ? ChargeStatus.REFUNDED : ChargeStatus.SUCCEEDED,
    cardLast4: rec.cardLast4,
    createTime: timestampFromDate(rec.createdAt),
    refundTime: rec.refundedAt ? timestampFromDate(rec.refundedAt) : undefined,
    refundReason: rec.refundReason ?? "",
  };
}
