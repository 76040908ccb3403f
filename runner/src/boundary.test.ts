// The package boundaries of issue 13: services and the runtime never import the runner, and
// production code never imports the runtime's test entry (@shopmesh/mesh/testing).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { repo } from "./paths.js";

/** Every .ts file below `dir`, as paths relative to the repo. */
function sources(dir: string): string[] {
  return readdirSync(join(repo, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts")).map((f) => relative(repo, join(repo, dir, f)));
}

/** The module specifiers a file imports (static and dynamic). */
function imports(file: string): string[] {
  const text = readFileSync(join(repo, file), "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!);
}

const services = readdirSync(join(repo, "services"), { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== "recommendation").flatMap((d) => sources(`services/${d.name}/src`));

test("services/ and mesh/ never import the runner", () => {
  const bad = [...services, ...sources("mesh/src")].filter((f) => imports(f).some((s) => s.includes("runner")));
  expect(bad).toEqual([]);
  const packages = readdirSync(join(repo, "services"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== "recommendation").map((d) => join(repo, "services", d.name, "package.json"));
  expect(packages.length).toBeGreaterThanOrEqual(5);
  for (const pkg of packages) expect(readFileSync(pkg, "utf8")).not.toContain("@shopmesh/runner");
});

test("only tests import @shopmesh/mesh/testing", () => {
  // The scan sees the entry where it belongs, so an empty list below means something.
  expect(services.filter((f) => imports(f).includes("@shopmesh/mesh/testing")).length).toBeGreaterThan(5);
  const production = services.filter((f) => !f.endsWith(".test.ts") && !/\/src\/testing\//.test(f));
  expect(production.filter((f) => imports(f).includes("@shopmesh/mesh/testing"))).toEqual([]);
  const runtime = sources("mesh/src").filter((f) => !f.endsWith(".test.ts") && !f.startsWith("mesh/src/testing/"));
  expect(runtime.filter((f) => imports(f).some((s) => s.startsWith("./testing/")))).toEqual([]);
});
