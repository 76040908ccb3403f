// Input rules of catalog, straight from the proto comments (proto/shop/catalog/v{1,2}). Each
// function records violations under the proto field path, so one error lists every bad field.
import type { Violations } from "@shopmesh/mesh";
import { isKnownCurrency } from "./currencies.js";

/** Product ids: 1 to 64 characters of [A-Za-z0-9_-]. */
export const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Category slugs: [a-z0-9-], 1 to 50 characters. */
export const CATEGORY = /^[a-z0-9-]{1,50}$/;
/** Default page size when the request says 0. */
export const DEFAULT_PAGE_SIZE = 20;
/** Largest page size. */
export const MAX_PAGE_SIZE = 100;
/** Longest search query. */
export const MAX_QUERY = 100;
/** Most ids in one BatchGetProducts. */
export const MAX_BATCH = 100;
/** Highest product price in minor units (10^9). */
export const MAX_PRICE_MINOR = 1_000_000_000;
/** Highest Money amount in minor units (10^12), per shop.common.v1.Money. */
export const MAX_MONEY_MINOR = 1_000_000_000_000n;
/** Highest stock. */
export const MAX_STOCK = 1_000_000;

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Checks one product id. */
export function checkId(v: Violations, field: string, id: string): void {
  if (id === "") v.add(field, "is required");
  else v.check(ID.test(id), field, "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'");
}

/** Checks a page size and returns the effective one (0 means the default). */
export function checkPageSize(v: Violations, pageSize: number): number {
  v.check(pageSize >= 0 && pageSize <= MAX_PAGE_SIZE, "page_size", `must be 0 (default ${DEFAULT_PAGE_SIZE}) or 1 to ${MAX_PAGE_SIZE}`);
  return pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize;
}

/** Checks a search query. */
export function checkQuery(v: Violations, query: string): void {
  if (query.trim() === "") v.add("query", "is required");
  else v.check(query.length <= MAX_QUERY, "query", `must be at most ${MAX_QUERY} characters`);
}

/** Checks a category slug. */
export function checkCategory(v: Violations, field: string, slug: string): void {
  v.check(CATEGORY.test(slug), field, "must be 1 to 50 characters of a-z, 0-9 or '-'");
}

/** Checks a Money value; returns its amount as a number when valid. */
export function checkMoney(v: Violations, field: string, m: { currencyCode: string; amountMinor: bigint },
  maxMinor: bigint = MAX_MONEY_MINOR): number | undefined {
  const okCur = v.check(isKnownCurrency(m.currencyCode), `${field}.currency_code`,
    "must be a known ISO 4217 code of three upper-case letters, e.g. USD");
  const okAmt = v.check(m.amountMinor >= 0n && m.amountMinor <= maxMinor, `${field}.amount_minor`,
    `must be 0 to ${maxMinor}`);
  return okCur && okAmt ? Number(m.amountMinor) : undefined;
}

/** The product fields UpsertProduct validates (update_time is ignored). */
export interface ProductInput {
  id: string;
  name: string;
  description: string;
  pictureUrl: string;
  price?: { currencyCode: string; amountMinor: bigint } | undefined;
  categories: string[];
  stock: number;
}

/** The currency every product is priced in: v1 clients read price_usd_cents, so it must be USD. */
export const CATALOG_CURRENCY = "USD";

/** Checks a whole product for UpsertProduct. */
export function checkProduct(v: Violations, p: ProductInput): void {
  checkId(v, "product.id", p.id);
  v.check(p.name.trim().length >= 1 && p.name.length <= 200, "product.name", "must be 1 to 200 characters");
  v.check(!CONTROL.test(p.name), "product.name", "must not contain control characters");
  v.check(p.description.length <= 2000, "product.description", "must be at most 2000 characters");
  v.check(p.pictureUrl.length <= 500, "product.picture_url", "must be at most 500 characters");
  v.check(!/\s/.test(p.pictureUrl), "product.picture_url", "must not contain whitespace");
  if (!p.price) v.add("product.price", "is required");
  else {
    checkMoney(v, "product.price", p.price, BigInt(MAX_PRICE_MINOR));
    if (isKnownCurrency(p.price.currencyCode)) {
      v.check(p.price.currencyCode === CATALOG_CURRENCY, "product.price.currency_code",
        `the catalog prices in ${CATALOG_CURRENCY} (v1 clients read price_usd_cents)`);
    }
  }
  v.check(p.categories.length >= 1 && p.categories.length <= 10, "product.categories", "must hold 1 to 10 slugs");
  p.categories.forEach((c, i) => checkCategory(v, `product.categories[${i}]`, c));
  v.check(new Set(p.categories).size === p.categories.length, "product.categories", "must not repeat a slug");
  v.check(Number.isInteger(p.stock) && p.stock >= 0 && p.stock <= MAX_STOCK, "product.stock", `must be 0 to ${MAX_STOCK}`);
}
