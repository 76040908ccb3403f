// What the benchmarks that restart the mesh share (istio-bench.ts, tracing-bench.ts): the repo
// root, the edge, their positive-integer knobs, and the mesh runner's own commands.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { createEdgeClient } from "../edge-client.js";
import { runGhz, type GhzReport } from "../ghz.js";
import { listProductIds } from "../shop-setup.js";
import { ensureUsers, type LoadUser } from "../users.js";

export const root = resolve(process.env.LOADTEST_ROOT ?? ".");
export const EDGE = "127.0.0.1:8080";
export const round2 = (n: number) => Math.round(n * 100) / 100;

/** A knob from the environment: a positive integer, or `fallback` when unset. */
export function knob(key: string, fallback: number): number {
  const n = Number(process.env[key] || fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${key} must be a positive integer`);
  return n;
}

/** `cli.js <args>` of the mesh runner (up, down), with `env` added to ours; its errors on stderr. */
export function meshCli(args: string[], env: Record<string, string> = {}): void {
  execFileSync(process.execPath, [join(root, "runner/dist/cli.js"), ...args], { cwd: root, stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, ...env }, timeout: 300_000 });
}

/**
 * What a measure needs from the running mesh: a product to ask for, `users` logged-in users
 * (remembered in .run/loadtest/users.json), and a ghz GetProduct run through the edge with the
 * given workers, connections and rate (none: as fast as the workers go).
 */
export async function prepareLoad(users: number): Promise<{
  users: LoadUser[]; usersFile: string;
  getProduct(name: string, seconds: number, o: { concurrency: number; connections?: number; rps?: number }): Promise<GhzReport>;
}> {
  const client = createEdgeClient({ address: EDGE });
  const id = (await listProductIds(client))[0]!;
  const usersFile = join(root, ".run/loadtest/users.json");
  const loggedIn = await ensureUsers(client, { count: users, file: usersFile });
  client.close();
  const outDir = join(root, ".run/loadtest/bench");
  mkdirSync(outDir, { recursive: true });
  return {
    users: loggedIn, usersFile,
    getProduct: (name, seconds, o) => runGhz({
      ghz: join(root, ".bin/ghz"), target: EDGE, protoset: join(root, "gen/shop.binpb"), call: "shop.catalog.v2.CatalogService/GetProduct",
      data: JSON.stringify({ id }), duration: `${seconds}s`, ...o, name, jsonOut: join(outDir, `${name}.json`),
    }),
  };
}
