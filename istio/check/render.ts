// Renders a kustomize directory to plain objects, with the runner's renderer (kustomize build piped
// through yaml2json, the tiny Go program next to this file, built into .bin/ by mk/istio.mk), which
// `make up MESH=istio` renders the default overlay with.
import { join } from "node:path";
import type { Manifest as RenderedManifest } from "../../runner/src/istio/render.js";

export { renderManifests } from "../../runner/src/istio/files.js";

/** One rendered Kubernetes object; only the fields the checks read are typed. */
export type Manifest = Omit<RenderedManifest, "spec"> & { spec?: unknown };

/** The repository root (istio/check is two levels down). */
export const repoRoot = join(import.meta.dirname, "..", "..");

/** A short name for messages: Kind namespace/name. */
export function describe(m: Manifest): string {
  return `${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name}`;
}
