// Payment's stores for a component test, on the test run's real FerretDB and Redis: a charge
// store and a processor ledger in databases of their own (dropped by close()), a Redis client,
// and a Mongo client to read the books directly.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import type { ChargeStore } from "../store/charge-store.js";
import { createMongoChargeStore } from "../store/mongo-charge-store.js";
import { createMongoLedger, type MongoLedger } from "../store/mongo-ledger.js";

/** What a payment component test runs against. */
export interface PaymentStores {
  /** Random per test file: it names the databases and should prefix Redis keys. */
  suffix: string;
  store: ChargeStore;
  ledger: MongoLedger;
  redis: Redis;
  mongo: MongoClient;
  /** The charge store's database (charges, outcomes, refunds). */
  dbName: string;
  /** The processor's database (its entries and refunds). */
  processorDb: string;
  /** Drops both databases and closes every client. */
  close(): Promise<void>;
}

/** Opens fresh stores named after `name` (test_payment_<name>_<suffix>). */
export async function openPaymentStores(name: string): Promise<PaymentStores> {
  const url = process.env.SHOP_TEST_MONGO_URL!;
  const suffix = randomBytes(4).toString("hex");
  const dbName = `test_payment_${name}_${suffix}`;
  const processorDb = `${dbName}_processor`;
  const store = await createMongoChargeStore({ url, db: dbName });
  await store.init();
  const ledger = await createMongoLedger({ url, db: processorDb });
  const redis = new Redis(process.env.SHOP_TEST_REDIS_URL!);
  const mongo = await MongoClient.connect(url);
  return {
    suffix, store, ledger, redis, mongo, dbName, processorDb,
    async close() {
      await store.close();
      await ledger.close();
      await redis.quit();
      await mongo.db(dbName).dropDatabase();
      await mongo.db(processorDb).dropDatabase();
      await mongo.close();
    },
  };
}
