// Jest globalSetup of the "unit" project: one FerretDB and one Redis for every component test.
// Tests isolate themselves with their own database name (Mongo) and key prefix or db (Redis);
// a test that kills a store starts its own with startRedis()/startFerretDb().
import { startFerretDb, startRedis, type TestStore } from "./stores.ts";

declare global {
  // eslint-disable-next-line no-var
  var __shopStores: TestStore[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  const [mongo, redis] = await Promise.all([startFerretDb(), startRedis()]);
  process.env.SHOP_TEST_MONGO_URL = mongo.url;
  process.env.SHOP_TEST_REDIS_URL = redis.url;
  globalThis.__shopStores = [mongo, redis];
}
