// The catalog use cases, shared by v1 and v2: read from the in-memory view, page with signed tokens,
// search literally, upsert as admin, and watch a product's price and stock.
import { NotFoundError, PermissionDeniedError, UnauthenticatedError, UnavailableError, Violations } from "@shopmesh/mesh";
import type { ProductEvents } from "../store/product-events.js";
import type { ProductRecord, ProductStore } from "../store/product-store.js";
import type { ListQuery, ProductView } from "../store/product-view.js";
import type { PageTokens } from "./page-token.js";
import { checkCategory, checkId, checkMoney, checkPageSize, checkProduct, checkQuery, MAX_BATCH,
  type ProductInput } from "./validate.js";

/** A Money filter bound as it arrives from v2 (absent when unset). */
export type MoneyInput = { currencyCode: string; amountMinor: bigint } | undefined;

/** A ListProducts request, v1 (no filters) or v2. */
export interface ListRequest {
  /** Which API asked: tokens of one version never work on the other. */
  api: "v1" | "v2";
  pageSize: number;
  pageToken: string;
  category?: string;
  minPrice?: MoneyInput;
  maxPrice?: MoneyInput;
}

/** The caller, as mesh authenticated it. */
export interface Caller {
  id: string;
  roles: string[];
}

/** What the catalog use cases depend on. */
export interface CatalogDeps {
  store: ProductStore;
  /** What every read is served from; until it is loaded, reads are Unavailable. */
  view: ProductView;
  events: ProductEvents;
  tokens: PageTokens;
  /** Told when a change event could not be published (watchers miss it; the write stands). */
  onPublishError?: (err: unknown) => void;
}

/** The catalog use cases. */
export interface Catalog {
  get(id: string): Promise<ProductRecord>;
  batchGet(ids: string[]): Promise<ProductRecord[]>;
  list(req: ListRequest): Promise<{ products: ProductRecord[]; nextPageToken: string }>;
  search(query: string, pageSize: number): Promise<ProductRecord[]>;
  upsert(input: ProductInput, caller: Caller | undefined): Promise<ProductRecord>;
  watch(id: string, signal: AbortSignal): AsyncGenerator<ProductRecord>;
}

// Search ranks over the first this many literal matches in id order, as it did when MongoDB ran
// the match: a query matching more than this is not specific enough to need a better rank.
const SEARCH_SCAN = 500;

/** Builds the catalog use cases. */
export function createCatalog(deps: CatalogDeps): Catalog {
  const { store, view, events, tokens } = deps;

  /** The view, once loaded (a replica whose store was down at start has none yet). */
  function loaded(): ProductView {
    if (!view.loaded) throw new UnavailableError("the catalog is not loaded yet");
    return view;
  }

  return {
    async get(id) {
      const v = new Violations();
      checkId(v, "id", id);
      v.throwIfAny();
      const p = loaded().get(id);
      if (!p) throw new NotFoundError(`product ${id} not found`);
      return p;
    },

    async batchGet(ids) {
      const v = new Violations();
      v.check(ids.length >= 1 && ids.length <= MAX_BATCH, "ids", `must hold 1 to ${MAX_BATCH} ids`);
      ids.slice(0, MAX_BATCH).forEach((id, i) => checkId(v, `ids[${i}]`, id));
      v.throwIfAny();
      const found = ids.map((id) => loaded().get(id));
      const unknown = ids.find((_, i) => found[i] === undefined);
      if (unknown !== undefined) throw new NotFoundError(`product ${unknown} not found`);
      return found as ProductRecord[];
    },

    async list(req) {
      const v = new Violations();
      const limit = checkPageSize(v, req.pageSize);
      const q: ListQuery = { limit: limit + 1 };
      if (req.category) {
        checkCategory(v, "category", req.category);
        q.category = req.category;
      }
      const min = req.minPrice ? checkMoney(v, "min_price", req.minPrice) : undefined;
      const max = req.maxPrice ? checkMoney(v, "max_price", req.maxPrice) : undefined;
      if (req.minPrice && req.maxPrice) {
        v.check(req.minPrice.currencyCode === req.maxPrice.currencyCode, "max_price.currency_code",
          "must match min_price.currency_code");
        if (min !== undefined && max !== undefined) v.check(min <= max, "min_price", "must not be above max_price");
      }
      v.throwIfAny();
      const currency = req.minPrice?.currencyCode ?? req.maxPrice?.currencyCode;
      if (currency !== undefined) {
        q.price = { currencyCode: currency };
        if (min !== undefined) q.price.min = min;
        if (max !== undefined) q.price.max = max;
      }
      // The token is bound to everything but page_size, which may change between pages.
      const scope = [req.api, q.category ?? "", currency ?? "", min ?? "", max ?? ""].join("|");
      if (req.pageToken !== "") q.afterId = tokens.decode(req.pageToken, scope);
      const rows = loaded().list(q);
      const products = rows.slice(0, limit);
      const nextPageToken = rows.length > limit ? tokens.encode(products[products.length - 1]!.id, scope) : "";
      return { products, nextPageToken };
    },

    async search(query, pageSize) {
      const v = new Violations();
      checkQuery(v, query);
      const limit = checkPageSize(v, pageSize);
      v.throwIfAny();
      const rows = loaded().search(query, SEARCH_SCAN);
      // Best first: a hit in the name beats a hit only in the description; ties stay in id order.
      const needle = query.toLowerCase();
      const rank = (p: ProductRecord) => (p.name.toLowerCase().includes(needle) ? 0 : 1);
      return rows.map((p, i) => ({ p, i, r: rank(p) }))
        .sort((a, b) => a.r - b.r || a.i - b.i)
        .slice(0, limit)
        .map((x) => x.p);
    },

    async upsert(input, caller) {
      // mesh already demands a JWT here; this is the business rule, checked before looking at input.
      if (!caller) throw new UnauthenticatedError("an access token is required");
      if (!caller.roles.includes("admin")) throw new PermissionDeniedError("only admins may change products");
      const v = new Violations();
      checkProduct(v, input);
      v.throwIfAny();
      const p: ProductRecord = {
        id: input.id, name: input.name, description: input.description, pictureUrl: input.pictureUrl,
        price: { currencyCode: input.price!.currencyCode, amountMinor: Number(input.price!.amountMinor) },
        categories: [...input.categories], stock: input.stock, updateTime: new Date(),
      };
      await store.upsert(p);
      view.apply(p);
      await events.publish(p).catch((err: unknown) => deps.onPublishError?.(err));
      return p;
    },

    async *watch(id, signal) {
      const v = new Violations();
      checkId(v, "id", id);
      v.throwIfAny();
      const queue: ProductRecord[] = [];
      let wake: (() => void) | undefined;
      const onAbort = () => wake?.();
      // Subscribe before reading, so a change between the read and the subscription is not lost.
      const leave = await events.subscribe(id, (p) => {
        queue.push(p);
        wake?.();
      });
      signal.addEventListener("abort", onAbort);
      try {
        // The view took every change published before the subscription above was live.
        const current = loaded().get(id);
        if (!current) throw new NotFoundError(`product ${id} not found`);
        let last = current;
        yield current;
        while (!signal.aborted) {
          if (queue.length === 0) {
            await new Promise<void>((resolve) => { wake = resolve; });
            wake = undefined;
            continue;
          }
          const next = queue.shift()!;
          // The contract streams price and stock changes; a renamed product is not news to a watcher.
          if (next.price.amountMinor === last.price.amountMinor && next.price.currencyCode === last.price.currencyCode
            && next.stock === last.stock) continue;
          last = next;
          yield next;
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        await leave();
      }
    },
  };
}
