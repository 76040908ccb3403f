// An ops/test tool, not service code: checks that no money is lost or made up across the order
// and payment databases. It reads payment's database directly, which the services never do.
//   1. every order is final (CONFIRMED or FAILED), none left PENDING;
//   2. every CONFIRMED order has a SUCCEEDED charge of exactly its total, keyed by its id;
//   3. every SUCCEEDED (not refunded) charge belongs to a CONFIRMED order;
//   4. so the sum of SUCCEEDED charges equals the sum of CONFIRMED orders' totals.
// Usage: node dist/invariants.js <mongoUrl> [orderDb] [paymentDb]  (exit 1 when violated)
import { MongoClient } from "mongodb";

/** Where the two databases are. */
export interface InvariantTarget {
  mongoUrl: string;
  orderDb?: string;
  paymentDb?: string;
}

/** The result of one check. */
export interface InvariantReport {
  ok: boolean;
  confirmedOrders: number;
  failedOrders: number;
  pendingOrders: number;
  succeededCharges: number;
  refundedCharges: number;
  /** Sum of CONFIRMED orders' totals, minor units (a single currency is assumed per shop). */
  confirmedTotalMinor: number;
  /** Sum of SUCCEEDED charges, minor units. */
  chargedTotalMinor: number;
  /** One line per violation. */
  violations: string[];
}

/** Reads both databases and reports every violated invariant. */
export async function checkInvariants(target: InvariantTarget): Promise<InvariantReport> {
  const client = await MongoClient.connect(target.mongoUrl, { serverSelectionTimeoutMS: 3000 });
  try {
    const orders = await client.db(target.orderDb ?? "shop_order").collection("orders").find({}).toArray();
    const charges = await client.db(target.paymentDb ?? "shop_payment").collection("charges").find({}).toArray();
    const chargeByKey = new Map(charges.map((c) => [String(c.key), c]));
    const violations: string[] = [];
    const r: InvariantReport = {
      ok: true, confirmedOrders: 0, failedOrders: 0, pendingOrders: 0, succeededCharges: 0, refundedCharges: 0,
      confirmedTotalMinor: 0, chargedTotalMinor: 0, violations,
    };
    const confirmedIds = new Set<string>();
    for (const o of orders) {
      const id = String(o._id);
      if (o.status === "CONFIRMED") {
        r.confirmedOrders++;
        r.confirmedTotalMinor += Number(o.totalMinor);
        confirmedIds.add(id);
        const c = chargeByKey.get(id);
        if (!c || c.status !== "SUCCEEDED") violations.push(`order ${id} is CONFIRMED but its charge is ${c ? c.status : "missing"}`);
        else if (Number(c.amountMinor) !== Number(o.totalMinor)) violations.push(`order ${id} total ${o.totalMinor} != charge ${c.amountMinor}`);
      } else if (o.status === "FAILED") {
        r.failedOrders++;
      } else {
        r.pendingOrders++;
        violations.push(`order ${id} is not final (${o.status}, phase ${o.phase})`);
      }
    }
    for (const c of charges) {
      if (c.status === "SUCCEEDED") {
        r.succeededCharges++;
        r.chargedTotalMinor += Number(c.amountMinor);
        if (!confirmedIds.has(String(c.key))) violations.push(`charge ${c._id} (key ${c.key}) SUCCEEDED without a CONFIRMED order`);
      } else if (c.status === "REFUNDED") {
        r.refundedCharges++;
      }
    }
    if (r.confirmedTotalMinor !== r.chargedTotalMinor) {
      violations.push(`confirmed orders total ${r.confirmedTotalMinor} != succeeded charges ${r.chargedTotalMinor}`);
    }
    r.ok = violations.length === 0;
    return r;
  } finally {
    await client.close();
  }
}

// Run as a script: print the report, exit 1 when an invariant is violated.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [url, orderDb, paymentDb] = process.argv.slice(2);
  checkInvariants({ mongoUrl: url ?? "mongodb://127.0.0.1:27018/", orderDb, paymentDb }).then((r) => {
    console.log(JSON.stringify(r, null, 2));
    process.exit(r.ok ? 0 : 1);
  }).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
