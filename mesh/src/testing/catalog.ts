// An in-memory shop.catalog.v2.CatalogService for mesh's own tests and benchmarks: real generated
// contracts, tiny behaviour, including hooks that fail on purpose (ids "boom", "slow", "nope").
import type { ServiceImpl } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ProductSchema, type CatalogService, type Product } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { currentUser } from "../context.js";
import { NotFoundError, ValidationError } from "../errors.js";
import { Violations } from "../violations.js";

/** Behaviour switches of the fixture. */
export interface CatalogFixtureOptions {
  /** Called when a "slow" product is fetched; resolve it to let the call finish (default: waits for abort). */
  slow?: (signal: AbortSignal) => Promise<void>;
  /** WatchProduct sends the product once, then waits idle until the call ends (a real watch); default: three versions, then ends. */
  idleWatch?: boolean;
}

/** Creates the fixture implementation: product "p1" exists; "boom" throws a plain Error; "slow" waits. */
export function createCatalogFixture(opts: CatalogFixtureOptions = {}): ServiceImpl<typeof CatalogService> {
  const products = new Map<string, Product>([["p1", create(ProductSchema, { id: "p1", name: "Mug", stock: 3, price: { currencyCode: "EUR", amountMinor: 1299n } })]]);
  const get = (id: string) => {
    const p = products.get(id);
    if (p === undefined) throw new NotFoundError(`product ${id} not found`);
    return p;
  };
  const waitAbort = (signal: AbortSignal) => new Promise<void>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  return {
    async getProduct(req, ctx) {
      const v = new Violations();
      v.check(req.id !== "", "id", "required");
      v.throwIfAny();
      // A bug with a secret in its message: the client must only ever see "internal error".
      if (req.id === "boom") throw new Error("secret database password leaked in message");
      if (req.id === "slow") {
        await (opts.slow ?? waitAbort)(ctx.signal);
        return { product: { id: "slow", name: "Slow" } };
      }
      if (req.id === "whoami") return { product: { id: "whoami", name: currentUser(ctx)?.id ?? "anonymous" } };
      return { product: get(req.id) };
    },
    async batchGetProducts(req) {
      return { products: req.ids.map(get) };
    },
    async listProducts() {
      return { products: [...products.values()], nextPageToken: "" };
    },
    async searchProducts(req) {
      return { products: [...products.values()].filter((p) => p.name.includes(req.query)) };
    },
    async upsertProduct(req) {
      const p = req.product;
      if (p === undefined) throw new ValidationError([{ field: "product", description: "required" }]);
      products.set(p.id, p);
      return { product: p };
    },
    async *watchProduct(req, ctx) {
      const p = get(req.id);
      if (opts.idleWatch) {
        yield { product: p };
        await waitAbort(ctx.signal).catch(() => undefined);
        return;
      }
      for (const suffix of ["", " v2", " v3"]) yield { product: { ...p, name: `${p.name}${suffix}` } };
    },
  };
}
