// The MongoDB client of the money path's stores (order, payment, the processor's ledger) and the
// two moves of a store of facts (docs/architecture.md "The store"): insert a fact under its `_id`
// or read the one that stands, and read a fact by the bare `{_id}` filter, the one shape FerretDB
// 1.x pushes down. The driver loads when a service connects, not when it imports the runtime.
import type { Collection, Filter, MongoClient, OptionalUnlessRequiredId } from "mongodb";
import { firstWriterWins } from "./insert-once.js";
import { traceMongo } from "./tracing.js";

/** Options of {@link connectMongo}. */
export interface MongoConnectOptions {
  /** Bounds server selection and connecting, ms; a socket read gets three times as long (default 3000). */
  opTimeoutMs?: number;
  /** Default 20. */
  maxPoolSize?: number;
}

/** Connects a client whose every wait is bounded, so a dead FerretDB costs a timeout, not a hang. */
export async function connectMongo(url: string, opts: MongoConnectOptions = {}): Promise<MongoClient> {
  const { MongoClient } = await import("mongodb");
  const t = opts.opTimeoutMs ?? 3000;
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: t, connectTimeoutMS: t, socketTimeoutMS: t * 3, maxPoolSize: opts.maxPoolSize ?? 20,
  });
  await traceMongo(client); // tracing.ts: a span per command when tracing is on; before connect()
  await client.connect();
  return client;
}

/** A document holding a fact under its key. */
export type FactDoc<T> = T & { _id: string };

/** The fact stored under `id`, without its `_id`; null when there is none. */
export async function readFact<T extends object>(coll: Collection<FactDoc<T>>, id: string, maxTimeMS: number): Promise<T | null> {
  const doc = await coll.findOne({ _id: id } as Filter<FactDoc<T>>, { maxTimeMS });
  if (!doc) return null;
  const { _id, ...fact } = doc as FactDoc<T>;
  return fact as unknown as T;
}

/** Inserts `fact` under `id`, or, when the id is taken, reads the fact that stands (the first writer wins). */
export function insertFact<T extends object>(coll: Collection<FactDoc<T>>, id: string, fact: T, maxTimeMS: number): Promise<T> {
  return firstWriterWins(fact, () => coll.insertOne({ _id: id, ...fact } as OptionalUnlessRequiredId<FactDoc<T>>),
    () => readFact(coll, id, maxTimeMS));
}
