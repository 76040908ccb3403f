// Real FerretDB and Redis processes for component tests: started on free loopback ports, with
// their data in a temp dir, and stopped afterwards. No fakes: the services talk MongoDB wire and
// RESP to the same servers `make up` runs.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// No import.meta here: jest loads global-setup (and so this file) as CommonJS. Tests run from
// the repo root (make and scripts/jest.sh do).
const repo = process.env.SHOP_REPO_ROOT ?? process.cwd();

/** A server started for a test, with the URL to reach it. */
export interface TestStore {
  /** mongodb://127.0.0.1:PORT/ or redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The OS pid, e.g. to SIGKILL it in a chaos test. */
  pid: number;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes its data. */
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Resolves once something accepts TCP connections on the port, or rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 15_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let spawnError: Error | undefined;
  child?.once("error", (err) => { spawnError = err; });
  for (;;) {
    if (spawnError) throw spawnError;
    if (child && child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("connect", () => { socket.destroy(); resolve(true); });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Starts .bin/ferretdb (FerretDB v1.24 on SQLite) on a free port. */
export async function startFerretDb(port?: number, dataDir?: string): Promise<TestStore> {
  const p = port ?? (await freePort());
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "shop-ferretdb-"));
  const child = spawn(join(repo, ".bin", "ferretdb"), ["-listen-addr", `127.0.0.1:${p}`, "-state-dir", dir, "-log-level", "error"],
    { stdio: "ignore" });
  await waitForPort(p, 15_000, child);
  return { url: `mongodb://127.0.0.1:${p}/`, port: p, pid: child.pid!, stop: stopper(child, dataDir ? "" : dir) };
}

/** Starts Debian's redis-server on a free port; AOF on when `appendonly` (to test restarts). */
export async function startRedis(opts: { port?: number; dataDir?: string; appendonly?: boolean } = {}): Promise<TestStore> {
  const p = opts.port ?? (await freePort());
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "shop-redis-"));
  const child = spawn("redis-server", ["--port", String(p), "--bind", "127.0.0.1", "--save", "",
    "--appendonly", opts.appendonly ? "yes" : "no", "--dir", dir, "--loglevel", "warning"],
  { stdio: "ignore" });
  await waitForPort(p, 10_000, child);
  return { url: `redis://127.0.0.1:${p}`, port: p, pid: child.pid!, stop: stopper(child, opts.dataDir ? "" : dir) };
}
