// Renders a kustomize directory to plain objects: `kustomize build` piped through yaml2json (a tiny
// Go program next to this file, built into .bin/ by mk/istio.mk), since no YAML parser is a
// dependency of the project.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** One rendered Kubernetes object; only the fields the checks read are typed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
}

/** The repository root (istio/check is two levels down). */
export const repoRoot = join(import.meta.dirname, "..", "..");

/** Runs kustomize on `dir` (relative to the repo root) and returns every object it renders. */
export function renderManifests(dir: string): Manifest[] {
  const bin = join(repoRoot, ".bin");
  for (const tool of ["kustomize", "yaml2json"]) {
    if (!existsSync(join(bin, tool))) throw new Error(`.bin/${tool} is missing: run make validate (it builds it)`);
  }
  const yaml = execFileSync(join(bin, "kustomize"), ["build", join(repoRoot, dir)], {
    maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"],
  });
  const json = execFileSync(join(bin, "yaml2json"), { input: yaml, maxBuffer: 64 << 20 });
  return JSON.parse(json.toString("utf8")) as Manifest[];
}

/** A short name for messages: Kind namespace/name. */
export function describe(m: Manifest): string {
  return `${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name}`;
}
