// Node module hooks for the benchmarks: run the TypeScript sources directly (swc, the same
// transform jest uses), mapping the workspace packages to their sources like jest.config.js,
// so `make bench-mesh` needs no build and measures the same code the tests run.
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";
import swc from "@swc/core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Maps @shopmesh/* and relative .js specifiers to .ts sources when those exist. */
export async function resolve(specifier, context, next) {
  const m = /^@shopmesh\/gen\/(.*)\.js$/.exec(specifier);
  if (m) return { url: pathToFileURL(path.join(root, "gen/ts/src", `${m[1]}.ts`)).href, shortCircuit: true };
  if (specifier === "@shopmesh/mesh") return { url: pathToFileURL(path.join(root, "mesh/src/index.ts")).href, shortCircuit: true };
  if (specifier === "@shopmesh/mesh/testing") return { url: pathToFileURL(path.join(root, "mesh/src/testing/index.ts")).href, shortCircuit: true };
  if (specifier.startsWith(".") && specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
    const ts = fileURLToPath(new URL(specifier.slice(0, -3) + ".ts", context.parentURL));
    if (existsSync(ts)) return { url: pathToFileURL(ts).href, shortCircuit: true };
  }
  return next(specifier, context);
}

/** Transpiles .ts files to ESM JavaScript (types stripped, no type check). */
export async function load(url, context, next) {
  if (!url.endsWith(".ts")) return next(url, context);
  const source = await readFile(fileURLToPath(url), "utf8");
  const out = await swc.transform(source, {
    filename: fileURLToPath(url),
    jsc: { parser: { syntax: "typescript" }, target: "es2022" },
    module: { type: "es6" },
    sourceMaps: "inline",
  });
  return { format: "module", source: out.code, shortCircuit: true };
}
