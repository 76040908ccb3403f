// The user store against the real FerretDB of the test run: Login finds a user by email through
// the `user_emails` lookup (an `_id` read), and a user stored without one is still found.
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { AlreadyExistsError } from "@shopmesh/mesh";
import { createMongoUserStore } from "./mongo-user-store.js";
import type { UserRecord, UserStore } from "./user-store.js";

const url = process.env.SHOP_TEST_MONGO_URL!;
const dbName = `test_auth_store_${randomBytes(4).toString("hex")}`;
let store: UserStore;
let mongo: MongoClient;

const user = (id: string, email: string): UserRecord => ({ id, email, displayName: id, roles: [], passwordHash: "h", createTime: new Date() });

beforeAll(async () => {
  store = await createMongoUserStore({ url, db: dbName });
  mongo = await MongoClient.connect(url);
});

afterAll(async () => {
  await store.close();
  await mongo.db(dbName).dropDatabase();
  await mongo.close();
});

test("a registered user is found by email and by id; a second registration of the email is AlreadyExists", async () => {
  await store.insert(user("u1", "ann@example.com"));
  expect(await store.findByEmail("ann@example.com")).toMatchObject({ id: "u1" });
  expect(await store.findById("u1")).toMatchObject({ email: "ann@example.com" });
  expect(await mongo.db(dbName).collection("user_emails").findOne({ _id: "ann@example.com" as never })).toMatchObject({ userId: "u1" });
  await expect(store.insert(user("u2", "ann@example.com"))).rejects.toBeInstanceOf(AlreadyExistsError);
  expect(await store.findByEmail("ann@example.com")).toMatchObject({ id: "u1" });
  expect(await store.findByEmail("nobody@example.com")).toBeUndefined();
});

test("a user stored without a lookup entry is found by email, and gets one", async () => {
  await mongo.db(dbName).collection("users").insertOne({
    _id: "u3" as never, email: "old@example.com", displayName: "old", roles: [], passwordHash: "h", createTime: new Date(),
  });
  expect(await store.findByEmail("old@example.com")).toMatchObject({ id: "u3" });
  expect(await mongo.db(dbName).collection("user_emails").findOne({ _id: "old@example.com" as never })).toMatchObject({ userId: "u3" });
});

test("50 concurrent registrations of one email: one user, one lookup entry", async () => {
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.insert(user(`race-${i}`, "race@example.com"))));
  expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  const winner = (await store.findByEmail("race@example.com"))!.id;
  expect(await mongo.db(dbName).collection("user_emails").find({ _id: "race@example.com" as never }).toArray()).toEqual([{ _id: "race@example.com", userId: winner }]);
});
