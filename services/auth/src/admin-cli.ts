// The operator's way to make an admin (domain/admin.ts says why it is no RPC). `make admin` runs
// admin-main.js:
//   node services/auth/dist/admin-main.js --email you@example.com --password-file .run/admin/you@example.com.password
//   node services/auth/dist/admin-main.js --user-id u_…
// It opens auth's store with auth's own settings (MONGO_URL, MONGO_DB), so in a cluster it runs as
// `kubectl exec deploy/auth -- node dist/admin-main.js …`. The role is in the account's tokens from
// its next Login or Refresh.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { parseAuthConfig } from "./config.js";
import { createAdmin, grantAdmin } from "./domain/admin.js";
import { createMongoUserStore } from "./store/mongo-user-store.js";

const USAGE = "usage: admin-cli --email E --password-file F | --user-id ID";

/** Runs the command; resolves with what to print, rejects with a message for the operator. */
export async function runAdminCli(argv: string[], env: Record<string, string | undefined>): Promise<string> {
  const { values } = parseArgs({ args: argv, options: { email: { type: "string" }, "password-file": { type: "string" },
    "user-id": { type: "string" } } });
  const byEmail = values.email !== undefined;
  if (byEmail === (values["user-id"] !== undefined)) throw new Error(USAGE);
  const file = values["password-file"];
  if (byEmail && !file) throw new Error(`--email needs --password-file: the generated password is written there, never printed\n${USAGE}`);
  if (file && existsSync(file)) throw new Error(`${file} exists already; remove it or choose another file`);
  const config = parseAuthConfig(env);
  const users = await createMongoUserStore({ url: config.mongoUrl, db: config.mongoDb });
  try {
    if (!byEmail) {
      await grantAdmin(users, values["user-id"]!);
      return `admin: ${values["user-id"]} is an admin; its next Login or Refresh carries the role`;
    }
    const created = await createAdmin(users, values.email!);
    mkdirSync(dirname(file!), { recursive: true, mode: 0o700 });
    writeFileSync(file!, `${created.password}\n`, { mode: 0o600, flag: "wx" });
    return `admin: created ${created.user.email} (${created.user.id}) with the admin role; its password is in ${file}`;
  } finally {
    await users.close();
  }
}
