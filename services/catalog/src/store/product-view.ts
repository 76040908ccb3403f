// catalog's in-memory view of every product (docs/architecture.md, "The catalog view"): what
// GetProduct, BatchGetProducts, ListProducts, SearchProducts and WatchProduct read, with no network
// hop. It answers a ListQuery and a search exactly as the MongoDB queries it replaced did: id order,
// the same filters, the same literal case-insensitive match. It is filled by reload() (the whole
// store) and kept fresh by apply() (change events, and this replica's own writes).
import type { ProductRecord } from "./product-store.js";
import { literalMatcher, SearchIndex } from "./search-index.js";

/** A page query over products in id order. */
export interface ListQuery {
  /** Only ids strictly greater than this (the previous page's last id). */
  afterId?: string;
  /** Only products in this category. */
  category?: string;
  /** Only products priced in this currency within [min, max]. */
  price?: { currencyCode: string; min?: number; max?: number };
  /** At most this many. */
  limit: number;
}

/** The in-memory catalog. */
export interface ProductView {
  /** True once a reload has succeeded. */
  readonly loaded: boolean;
  /** Number of products held. */
  readonly size: number;
  /** One product, or undefined. */
  get(id: string): ProductRecord | undefined;
  /** A page in id order. */
  list(q: ListQuery): ProductRecord[];
  /** The first `limit` products, in id order, whose name or description contains text, case-insensitively and literally. */
  search(text: string, limit: number): ProductRecord[];
  /** Takes a changed product, unless the view holds a later version (by update time). */
  apply(p: ProductRecord): void;
  /**
   * Replaces the contents with what `fetch` returns (the whole store), except for products changed
   * by apply() while it ran that are at least as recent as the fetched ones. One at a time.
   */
  reload(fetch: () => Promise<ProductRecord[]>): Promise<{ changed: number }>;
}

interface Entry {
  p: ProductRecord;
  /** Its number in the search index; fixed for the life of the entry. */
  slot: number;
}

// Search verifies candidates in id order and stops at `limit` matches. Up to this many, it sorts
// their ranks; above, sorting costs more than marking them in a bitmap by rank and scanning that.
const WALK_ABOVE = 2_000;

// The rank of a slot that holds no product (never a candidate: remove() unindexes it).
const NO_RANK = 0xffff_ffff;

const texts = (p: ProductRecord) => [p.name, p.description];

function same(a: ProductRecord, b: ProductRecord): boolean {
  return a.updateTime.getTime() === b.updateTime.getTime() && a.name === b.name && a.description === b.description
    && a.pictureUrl === b.pictureUrl && a.price.currencyCode === b.price.currencyCode
    && a.price.amountMinor === b.price.amountMinor && a.stock === b.stock
    && a.categories.length === b.categories.length && a.categories.every((c, i) => c === b.categories[i]);
}

// Ids are ASCII ([A-Za-z0-9_-]), where JavaScript's string order is MongoDB's (UTF-8 bytes).
const byId = (a: Entry, b: Entry) => (a.p.id < b.p.id ? -1 : a.p.id > b.p.id ? 1 : 0);

/** Creates an empty view. */
export function createProductView(): ProductView {
  const entries = new Map<string, Entry>();
  let ordered: Entry[] = [];
  // The slots of `ordered`, in its order, kept beside it: ranking from these numbers takes well
  // under a millisecond at 100,000 products, from the entries (scattered in memory) ~10 ms.
  let orderedSlots = new Uint32Array(16);
  const slots: (Entry | undefined)[] = [];
  const index = new SearchIndex();
  // Each slot's position in `ordered`, so candidates are put in id order by sorting numbers. Built
  // by the first search after `ordered` changes; a replace keeps the id, so it keeps the order.
  let rankOfSlot: Uint32Array | undefined;
  let loaded = false;
  let touched: Set<string> | undefined;

  /** Index in `ordered` of the first entry whose id is above `id`. */
  function after(id: string): number {
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ordered[mid]!.p.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** rankOfSlot, rebuilt if `ordered` changed since it was built. */
  function ranks(): Uint32Array {
    if (rankOfSlot === undefined) {
      rankOfSlot = new Uint32Array(slots.length).fill(NO_RANK);
      for (let i = 0; i < ordered.length; i++) rankOfSlot[orderedSlots[i]!] = i;
    }
    return rankOfSlot;
  }

  function replace(e: Entry, p: ProductRecord): void {
    if (e.p.name !== p.name || e.p.description !== p.description) {
      index.delete(e.slot, texts(e.p));
      index.add(e.slot, texts(p));
    }
    e.p = p;
  }

  /** A new entry, indexed and in `entries`, but not yet in `ordered`. */
  function create(p: ProductRecord): Entry {
    const e = { p, slot: slots.length };
    slots.push(e);
    entries.set(p.id, e);
    index.add(e.slot, texts(p));
    return e;
  }

  function remove(e: Entry): void {
    index.delete(e.slot, texts(e.p));
    slots[e.slot] = undefined;
    entries.delete(e.p.id);
  }

  return {
    get loaded() {
      return loaded;
    },
    get size() {
      return entries.size;
    },

    get(id) {
      return entries.get(id)?.p;
    },

    list(q) {
      const out: ProductRecord[] = [];
      for (let i = q.afterId === undefined ? 0 : after(q.afterId); i < ordered.length && out.length < q.limit; i++) {
        const p = ordered[i]!.p;
        if (q.category !== undefined && !p.categories.includes(q.category)) continue;
        if (q.price) {
          if (p.price.currencyCode !== q.price.currencyCode) continue;
          if (q.price.min !== undefined && p.price.amountMinor < q.price.min) continue;
          if (q.price.max !== undefined && p.price.amountMinor > q.price.max) continue;
        }
        out.push(p);
      }
      return out;
    },

    search(text, limit) {
      const re = literalMatcher(text);
      const hit = (p: ProductRecord) => re.test(p.name) || re.test(p.description);
      const found: ProductRecord[] = [];
      const candidates = index.candidates(text);
      // A query shorter than three code points has no trigram: it scans, in id order, until `limit` matches.
      if (candidates === undefined) {
        for (const e of ordered) if (hit(e.p) && found.push(e.p) === limit) break;
        return found;
      }
      const rank = ranks();
      if (candidates.length <= WALK_ABOVE) {
        // A typed array sorts as numbers; NO_RANK would sort last, past the end of `ordered`.
        const order = candidates.map((slot) => rank[slot]!).sort();
        for (let i = 0; i < order.length && found.length < limit; i++) {
          const e = ordered[order[i]!];
          if (e === undefined) break;
          if (hit(e.p)) found.push(e.p);
        }
        return found;
      }
      // Marked by rank, they are read off in id order without touching the entries in between.
      const mark = new Uint8Array(ordered.length);
      for (const slot of candidates) if (rank[slot]! < ordered.length) mark[rank[slot]!] = 1;
      for (let i = 0; i < ordered.length && found.length < limit; i++) {
        if (mark[i] === 1 && hit(ordered[i]!.p)) found.push(ordered[i]!.p);
      }
      return found;
    },

    apply(p) {
      touched?.add(p.id);
      const e = entries.get(p.id);
      if (e) {
        if (e.p.updateTime.getTime() <= p.updateTime.getTime()) replace(e, p);
        return;
      }
      const i = after(p.id);
      const added = create(p);
      ordered.splice(i, 0, added);
      if (orderedSlots.length < ordered.length) {
        const grown = new Uint32Array(ordered.length * 2);
        grown.set(orderedSlots);
        orderedSlots = grown;
      }
      orderedSlots.copyWithin(i + 1, i, ordered.length - 1);
      orderedSlots[i] = added.slot;
      rankOfSlot = undefined;
    },

    async reload(fetch) {
      if (touched !== undefined) throw new Error("a reload is already running");
      const mine = new Set<string>();
      touched = mine;
      let all: ProductRecord[];
      try {
        all = await fetch();
      } finally {
        touched = undefined;
      }
      const fresh = new Map(all.map((p) => [p.id, p]));
      let changed = 0;
      for (const e of [...entries.values()]) {
        const s = fresh.get(e.p.id);
        // Changed while the store was read: the store's copy may be the older one.
        if (mine.has(e.p.id) && (s === undefined || e.p.updateTime.getTime() >= s.updateTime.getTime())) continue;
        if (s === undefined) remove(e);
        else if (!same(e.p, s)) replace(e, s);
        else continue;
        changed++;
      }
      const added: Entry[] = [];
      for (const p of all) if (!entries.has(p.id)) added.push(create(p));
      if (added.length > 0 || entries.size !== ordered.length) {
        ordered = ordered.filter((e) => entries.get(e.p.id) === e).concat(added).sort(byId);
        orderedSlots = Uint32Array.from(ordered, (e) => e.slot);
        rankOfSlot = undefined;
      }
      loaded = true;
      return { changed: changed + added.length };
    },
  };
}
