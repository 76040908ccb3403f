// Reads orders and charges as their services see them, by merging the facts each service inserts
// (docs/architecture.md "The money path"). Used by the invariant check's callers and the chaos
// tests; it reads other services' databases directly, with its own merge, not theirs.
import type { MongoClient } from "mongodb";

/** An order as its facts say. */
export interface BookOrder {
  id: string;
  userId: string;
  requestId: string;
  totalMinor: number;
  status: "PENDING" | "CONFIRMED" | "FAILED";
  chargeId?: string;
  failureReason?: string;
}

/** A charge as payment's facts say. */
export interface BookCharge {
  id: string;
  key: string;
  amountMinor: number;
  status: "PENDING" | "SUCCEEDED" | "DECLINED" | "REFUNDED";
}

/** The orders matching a filter on the reservation (e.g. { userId }), merged with their outcomes. */
export async function readOrders(client: MongoClient, filter: Record<string, unknown>, orderDb = "shop_order"): Promise<BookOrder[]> {
  const db = client.db(orderDb);
  const reservations = await db.collection("orders").find(filter).toArray();
  return Promise.all(reservations.map(async (r) => {
    const o = await db.collection("outcomes").findOne({ _id: r._id });
    const rec: BookOrder = {
      id: String(r._id), userId: String(r.userId), requestId: String(r.requestId), totalMinor: Number(r.totalMinor),
      status: (o?.status as BookOrder["status"] | undefined) ?? "PENDING",
    };
    if (o?.chargeId) rec.chargeId = String(o.chargeId);
    if (o?.failureReason) rec.failureReason = String(o.failureReason);
    return rec;
  }));
}

/** The charges made under these idempotency keys, merged with their outcomes and refunds. */
export async function readCharges(client: MongoClient, keys: string[], paymentDb = "shop_payment"): Promise<BookCharge[]> {
  const db = client.db(paymentDb);
  const attempts = await db.collection("charges").find({ key: { $in: keys } }).toArray();
  return Promise.all(attempts.map(async (a) => {
    const [o, refund] = await Promise.all([db.collection("outcomes").findOne({ _id: a._id }), db.collection("refunds").findOne({ _id: a._id })]);
    const decided = (o?.status as "SUCCEEDED" | "DECLINED" | undefined) ?? "PENDING";
    return { id: String(a._id), key: String(a.key), amountMinor: Number(a.amountMinor), status: decided === "SUCCEEDED" && refund ? "REFUNDED" : decided };
  }));
}
