import { randomBytes } from "node:crypto";
import type { Collection, MongoClient } from "mongodb";
import { connectMongo, type FactDoc, insertFact, readFact } from "./mongo.js";

type Outcome = { status: string };
let client: MongoClient;
let facts: Collection<FactDoc<Outcome>>;
const db = `test_mesh_mongo_${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  client = await connectMongo(process.env.SHOP_TEST_MONGO_URL!);
  facts = client.db(db).collection("facts");
});
afterAll(async () => {
  await client.db(db).dropDatabase();
  await client.close();
});

test("the first fact under an id stands, and every writer gets it, without its _id", async () => {
  const first = { status: "CONFIRMED" };
  expect(await insertFact(facts, "o1", first, 3000)).toBe(first);
  expect(await insertFact(facts, "o1", { status: "FAILED" }, 3000)).toEqual(first);
  expect(await readFact(facts, "o1", 3000)).toEqual(first);
  expect(await readFact(facts, "none", 3000)).toBeNull();
});
