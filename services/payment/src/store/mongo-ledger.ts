// The simulated processor's book on MongoDB (FerretDB locally), in its own database: one entry per
// idempotency key under `_id` (the first insert stands, E11000 for the rest), one refund per key.
// Read only on a conflict: FerretDB 1.x finds even an `_id` by scanning (docs/architecture.md).
import type { Collection } from "mongodb";
import { connectMongo, type FactDoc, insertFact, insertOnce } from "@shopmesh/mesh";
import type { LedgerEntry, ProcessorLedger } from "../domain/processor.js";

type Entry = Omit<LedgerEntry, "key">;

/** The ledger plus the handle to close it. */
export interface MongoLedger extends ProcessorLedger {
  close(): Promise<void>;
}

/** Connects to the processor's database and returns its ledger. */
export async function createMongoLedger(opts: { url: string; db: string; opTimeoutMs?: number }): Promise<MongoLedger> {
  const maxTimeMS = opts.opTimeoutMs ?? 3000;
  const client = await connectMongo(opts.url, { opTimeoutMs: maxTimeMS, maxPoolSize: 10 });
  const db = client.db(opts.db);
  const entries: Collection<FactDoc<Entry>> = db.collection("entries");
  const refunds: Collection<{ _id: string; amountMinor: number; at: Date }> = db.collection("refunds");
  return {
    async settle(entry) {
      const { key, ...rest } = entry;
      const stands = await insertFact<Entry>(entries, key, rest, maxTimeMS);
      if (stands === rest) return entry;
      const e = { key, ...stands } as LedgerEntry;
      return e.kind === "capture" ? { ...e, amountMinor: Number(e.amountMinor) } : e;
    },
    async refund(key, amountMinor, at) {
      await insertOnce(() => refunds.insertOne({ _id: key, amountMinor, at }));
    },
    async close() {
      await client.close();
    },
  };
}
