// The simulated processor's book on MongoDB (FerretDB locally), in its own database: one entry per
// idempotency key under `_id` (the first insert stands, E11000 for the rest), one refund per key.
// Read only on a conflict: FerretDB 1.x finds even an `_id` by scanning (docs/architecture.md).
import { type Collection, MongoClient } from "mongodb";
import { firstWriterWins, insertOnce } from "@shopmesh/mesh";
import type { LedgerEntry, ProcessorLedger } from "../domain/processor.js";

type EntryDoc = Omit<LedgerEntry, "key"> & { _id: string };

/** The ledger plus the handle to close it. */
export interface MongoLedger extends ProcessorLedger {
  close(): Promise<void>;
}

/** Connects to the processor's database and returns its ledger. */
export async function createMongoLedger(opts: { url: string; db: string; opTimeoutMs?: number }): Promise<MongoLedger> {
  const maxTimeMS = opts.opTimeoutMs ?? 3000;
  const client = new MongoClient(opts.url, { serverSelectionTimeoutMS: maxTimeMS, connectTimeoutMS: maxTimeMS, socketTimeoutMS: maxTimeMS * 3, maxPoolSize: 10 });
  await client.connect();
  const db = client.db(opts.db);
  const entries: Collection<EntryDoc> = db.collection<EntryDoc>("entries");
  const refunds: Collection<{ _id: string; amountMinor: number; at: Date }> = db.collection("refunds");
  return {
    settle(entry) {
      const { key, ...rest } = entry;
      return firstWriterWins(entry, () => entries.insertOne({ _id: key, ...rest } as EntryDoc), async () => {
        const doc = await entries.findOne({ _id: key }, { maxTimeMS });
        if (!doc) return null;
        const { _id, ...stored } = doc as unknown as Record<string, unknown>;
        const e = { key: _id, ...stored } as LedgerEntry;
        return e.kind === "capture" ? { ...e, amountMinor: Number(e.amountMinor) } : e;
      });
    },
    async refund(key, amountMinor, at) {
      await insertOnce(() => refunds.insertOne({ _id: key, amountMinor, at }));
    },
    async close() {
      await client.close();
    },
  };
}
