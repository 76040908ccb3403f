// UserStore on MongoDB (FerretDB locally). The unique index on email is what makes a duplicate
// registration fail, even when two arrive at once.
import { MongoClient, MongoServerError } from "mongodb";
import { AlreadyExistsError, insertOnce, traceMongo } from "@shopmesh/mesh";
import type { UserRecord, UserStore } from "./user-store.js";

interface UserDoc {
  _id: string;
  email: string;
  displayName: string;
  roles: string[];
  passwordHash: string;
  createTime: Date;
}

/** Options of the Mongo user store. */
export interface MongoUserStoreOptions {
  /** mongodb:// URL. */
  url: string;
  /** Database name (auth's own). */
  db: string;
  /** Per-operation server time limit; a slow database fails the call instead of hanging it. */
  maxTimeMs?: number;
}

const DUPLICATE_KEY = 11000;

function toRecord(d: UserDoc): UserRecord {
  return { id: d._id, email: d.email, displayName: d.displayName, roles: [...d.roles], passwordHash: d.passwordHash,
    createTime: d.createTime };
}

/** Connects, ensures the unique email index, and returns the store. */
export async function createMongoUserStore(opts: MongoUserStoreOptions): Promise<UserStore> {
  const client = new MongoClient(opts.url, { serverSelectionTimeoutMS: 3_000, connectTimeoutMS: 3_000 });
  await traceMongo(client); // a span per command when tracing is on; must precede connect()
  await client.connect();
  const users = client.db(opts.db).collection<UserDoc>("users");
  // email → user id under `_id`: the one filter FerretDB 1.x pushes down to SQLite. A filter on
  // `email` reads every user in Go (Login cost grew with the user count: issue 12). Derived data:
  // a user without an entry (stored before it existed, or a failed insert) is found by email the
  // slow way once, and gets one.
  const emails = client.db(opts.db).collection<{ _id: string; userId: string }>("user_emails");
  await users.createIndex({ email: 1 }, { unique: true, name: "email_unique" });
  const maxTimeMS = opts.maxTimeMs ?? 3_000;
  return {
    async insert(user) {
      try {
        await users.insertOne({ _id: user.id, email: user.email, displayName: user.displayName, roles: user.roles,
          passwordHash: user.passwordHash, createTime: user.createTime });
      } catch (err) {
        if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) {
          throw new AlreadyExistsError("a user with this email already exists");
        }
        throw err;
      }
      // After the user: the unique email index above is what decides a registration race.
      await insertOnce(() => emails.insertOne({ _id: user.email, userId: user.id })).catch(() => false);
    },
    async findByEmail(email) {
      // email and ids are validated strings, never objects, so they cannot smuggle an operator in.
      const entry = await emails.findOne({ _id: email }, { maxTimeMS });
      if (entry) {
        const d = await users.findOne({ _id: entry.userId }, { maxTimeMS });
        if (d && d.email === email) return toRecord(d);
      }
      const d = await users.findOne({ email: { $eq: email } }, { maxTimeMS });
      if (!d) return undefined;
      await insertOnce(() => emails.insertOne({ _id: email, userId: d._id })).catch(() => false);
      return toRecord(d);
    },
    async findById(id) {
      const d = await users.findOne({ _id: id }, { maxTimeMS });
      return d ? toRecord(d) : undefined;
    },
    async grantRole(id, role) {
      // An operator action, off every hot path; $addToSet keeps it idempotent.
      return (await users.updateOne({ _id: id }, { $addToSet: { roles: role } }, { maxTimeMS })).matchedCount === 1;
    },
    async close() {
      await client.close();
    },
  };
}
