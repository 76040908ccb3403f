// Runs the README's grpcurl walkthrough exactly as written, so it cannot go stale. The walkthrough
// is the sh block between the "walkthrough:start" and "walkthrough:end" markers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repo, sh } from "./support.js";

function walkthrough(): string {
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  const m = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme);
  if (!m) throw new Error("README.md has no walkthrough block");
  return m[1]!;
}

describe("the README's grpcurl walkthrough", () => {
  it("runs as written, from registration to a confirmed order", () => {
    const script = walkthrough();
    // A unique email per run, as a reader would pick their own.
    const r = sh("bash", ["-euo", "pipefail", "-c", script], undefined, 60_000);
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("shop.catalog.v2.CatalogService");
    expect(r.stdout).toContain("ORDER_STATUS_CONFIRMED");
  });
});
