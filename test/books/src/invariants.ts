// Checks the three books against each other. It reads order's and payment's databases and the
// simulated processor's ledger directly, which no service does (docs/architecture.md "The money
// path"). The processor's ledger is where money really moved:
//   1. no order is PENDING (every reservation has an outcome);
//   2. at most one capture per key (the ledger's `_id` is the key), and every capture not refunded
//      belongs to a CONFIRMED order of exactly that amount: no charge without an order;
//   3. every CONFIRMED order has such a capture: no order without its money;
//   4. payment's own facts agree with the ledger (SUCCEEDED ⇔ captured, REFUNDED ⇔ refunded);
//   5. so captures minus refunds equal the CONFIRMED orders' totals.
// As a command: src/check.ts.
import { MongoClient } from "mongodb";

/** Where the databases are. */
export interface InvariantTarget {
  mongoUrl: string;
  orderDb?: string;
  paymentDb?: string;
  /** Default: "<paymentDb>_processor", as payment's PAYMENT_PROCESSOR_DB default. */
  processorDb?: string;
}

/** The result of one check. */
export interface InvariantReport {
  ok: boolean;
  confirmedOrders: number;
  failedOrders: number;
  pendingOrders: number;
  /** Captures in the processor's ledger, refunded or not. */
  captures: number;
  refundedCharges: number;
  /** Sum of CONFIRMED orders' totals, minor units (a single currency is assumed per shop). */
  confirmedTotalMinor: number;
  /** Captures minus refunds in the processor's ledger, minor units. */
  chargedTotalMinor: number;
  /** One line per violation. */
  violations: string[];
}

/** Reads the databases and reports every violated invariant. */
export async function checkInvariants(target: InvariantTarget): Promise<InvariantReport> {
  const client = await MongoClient.connect(target.mongoUrl, { serverSelectionTimeoutMS: 3000 });
  const paymentDb = target.paymentDb ?? "shop_payment";
  try {
    const all = (db: string, coll: string) => client.db(db).collection(coll).find({}).toArray();
    const byId = async (db: string, coll: string) => new Map((await all(db, coll)).map((d) => [String(d._id), d]));
    const orderDb = target.orderDb ?? "shop_order";
    const processorDb = target.processorDb ?? `${paymentDb}_processor`;
    const [reservations, outcomes, attempts, chargeOutcomes, chargeRefunds, ledger, ledgerRefunds] = await Promise.all([
      all(orderDb, "orders"), byId(orderDb, "outcomes"), all(paymentDb, "charges"), byId(paymentDb, "outcomes"),
      byId(paymentDb, "refunds"), all(processorDb, "entries"), byId(processorDb, "refunds"),
    ]);
    const violations: string[] = [];
    const r: InvariantReport = {
      ok: true, confirmedOrders: 0, failedOrders: 0, pendingOrders: 0, captures: 0, refundedCharges: 0,
      confirmedTotalMinor: 0, chargedTotalMinor: 0, violations,
    };
    const confirmed = new Map<string, number>();
    for (const o of reservations) {
      const id = String(o._id);
      const outcome = outcomes.get(id);
      if (!outcome) {
        r.pendingOrders++;
        violations.push(`order ${id} is PENDING`);
      } else if (outcome.status === "CONFIRMED") {
        r.confirmedOrders++;
        r.confirmedTotalMinor += Number(o.totalMinor);
        confirmed.set(id, Number(o.totalMinor));
      } else {
        r.failedOrders++;
      }
    }
    const captured = new Map<string, number>();
    for (const e of ledger) {
      if (e.kind !== "capture") continue;
      const key = String(e._id);
      const amount = Number(e.amountMinor);
      r.captures++;
      r.chargedTotalMinor += amount;
      if (ledgerRefunds.has(key)) {
        r.refundedCharges++;
        r.chargedTotalMinor -= amount;
        continue;
      }
      captured.set(key, amount);
      const total = confirmed.get(key);
      if (total === undefined) violations.push(`capture under ${key} (${amount}) kept without a CONFIRMED order`);
      else if (total !== amount) violations.push(`order ${key} total ${total} != its capture ${amount}`);
    }
    for (const [id] of confirmed) if (!captured.has(id)) violations.push(`order ${id} is CONFIRMED without a capture kept for it`);
    const ledgerKind = new Map(ledger.map((e) => [String(e._id), String(e.kind)]));
    for (const a of attempts) {
      const id = String(a._id);
      const key = String(a.key);
      const status = chargeOutcomes.get(id)?.status;
      const kind = ledgerKind.get(key) ?? "nothing";
      if (status !== undefined && (status === "SUCCEEDED") !== (kind === "capture")) {
        violations.push(`charge ${id} is ${status} but the processor holds ${kind} for its key`);
      }
      if (chargeRefunds.has(id) !== ledgerRefunds.has(key)) {
        violations.push(`charge ${id}: payment ${chargeRefunds.has(id) ? "recorded" : "did not record"} a refund, the processor ${ledgerRefunds.has(key) ? "did" : "did not"}`);
      }
    }
    if (r.confirmedTotalMinor !== r.chargedTotalMinor) {
      violations.push(`confirmed orders total ${r.confirmedTotalMinor} != captures minus refunds ${r.chargedTotalMinor}`);
    }
    r.ok = violations.length === 0;
    return r;
  } finally {
    await client.close();
  }
}
