// The demo catalog: products.json (USD cents), loaded idempotently. Seeding inserts only ids not
// stored yet, so it is safe at every start and never undoes an admin's UpsertProduct.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProductRecord, ProductStore } from "../store/product-store.js";

/** One entry of products.json. */
export interface SeedProduct {
  id: string;
  name: string;
  description: string;
  pictureUrl: string;
  priceUsdCents: number;
  categories: string[];
  stock: number;
}

/** Reads the fixture; from dist/ it falls back to the source copy, since tsc does not copy JSON. */
export function readSeedProducts(): SeedProduct[] {
  const here = join(import.meta.dirname, "products.json");
  const file = existsSync(here) ? here : join(import.meta.dirname, "..", "..", "src", "seed", "products.json");
  return JSON.parse(readFileSync(file, "utf8")) as SeedProduct[];
}

/** Maps fixture entries to stored products, stamped with one update time. */
export function toRecords(seed: SeedProduct[], now = new Date()): ProductRecord[] {
  return seed.map((s) => ({
    id: s.id, name: s.name, description: s.description, pictureUrl: s.pictureUrl,
    price: { currencyCode: "USD", amountMinor: s.priceUsdCents }, categories: s.categories, stock: s.stock,
    updateTime: now,
  }));
}

/** Inserts the fixture products that are missing; returns how many were inserted. */
export async function seedCatalog(store: ProductStore): Promise<number> {
  return store.seed(toRecords(readSeedProducts()));
}
