// Where the local mesh keeps its files: everything it writes is under .run/ (logs, certificates,
// keys, nginx, the pid record mesh.json) and .data/ (the stores), both at the repo root.
// SHOP_DATA_DIR puts the stores elsewhere: make bench runs on an empty store of its own.
import { join, resolve } from "node:path";

/** The repo root (this file is runner/src/paths.ts, or runner/dist/paths.js after a build). */
export const repo = join(import.meta.dirname, "..", "..");
export const run = join(repo, ".run");
export const logDir = join(run, "logs");
export const certDir = join(run, "certs");
export const nginxDir = join(run, "nginx");
/** The record of what was started: Proc[] (supervisor.ts). */
export const stateFile = join(run, "mesh.json");
export const dataDir = process.env.SHOP_DATA_DIR ? resolve(process.env.SHOP_DATA_DIR) : join(repo, ".data");
export const topologyFile = join(repo, "mesh", "topology.json");
