// The view answers search and list exactly as catalog answered them before it existed: checked
// against a brute-force scan over thousands of random products (regex-looking, unicode and mixed
// case text), and against the MongoDB queries the view replaced, run on the real FerretDB.
import { randomBytes } from "node:crypto";
import { MongoClient, type Collection } from "mongodb";
import { createProductView, type ListQuery, type ProductView } from "./product-view.js";
import type { ProductRecord } from "./product-store.js";
import { literalMatcher } from "./search-index.js";

// A fixed seed: a failure can be replayed.
let state = 17;
function rnd(n: number): number {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return (state >>> 8) % n;
}
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;

const WORDS = ["mug", "Mug", "MUG", "linen", "Linen", "shirt", "leather", "Leather", "enamel", "camp", "the", "and",
  "with", "e", "straße", "STRASSE", "ẞ", "ß", "σοφία", "ΣΟΦΙΑ", "ς", "İstanbul", "ıi", "IK", "K", "k", "ſ", "Å", "å",
  "Å", "déjà", "DÉJÀ", "e\u0301", "日本語", "珈琲", "😀", "𐐨𐐩", "𐐀𐐁", "Дом", "дом", ".*", "a+b", "(x)", "[y]",
  '{"$ne": null}', "$where", "\\d", "^start", "end$", "a|b", "?", "/slash/", "back\\slash", "dash-y", "x-y-z", "100%"];
const CATEGORIES = ["kitchen", "garden", "tools", "books", "toys"];
const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

function phrase(min: number, max: number): string {
  return Array.from({ length: min + rnd(max - min + 1) }, () => pick(WORDS)).join(pick([" ", " ", "", "-"]));
}

function randomProduct(i: number): ProductRecord {
  const id = Array.from({ length: 4 + rnd(6) }, () => pick([...ID_CHARS])).join("") + i.toString(36);
  return { id, name: phrase(1, 4), description: phrase(0, 12), pictureUrl: "/p.jpg",
    price: { currencyCode: pick(["USD", "USD", "EUR"]), amountMinor: rnd(5000) },
    categories: [...new Set([pick(CATEGORIES), pick(CATEGORIES)])], stock: rnd(10), updateTime: new Date(1_700_000_000_000 + i) };
}

function flipCase(s: string): string {
  return [...s].map((ch) => (rnd(2) === 0 ? ch.toUpperCase() : ch.toLowerCase())).map((ch) => ([...ch].length === 1 ? ch : ch[0]!)).join("");
}

/** Queries: pieces of real texts with their case changed, words, and random strings. */
function queries(products: ProductRecord[], n: number): string[] {
  const out = new Set<string>(["e", "ee", "mug", "MUG", "ß", "ss", "σ", "Σ", "k", "K", ".*", "(", "a+b", "$", "\\", "-",
    '{"$NE": NULL}', "x-y-z", "日本", "😀", "𐐀", "𐐨𐐩", "déjà", "DÉJÀ", "é", "the and", "zzzz", "camp mug"]);
  while (out.size < n) {
    const p = pick(products);
    const text = [...(rnd(2) === 0 ? p.name : p.description)];
    if (text.length === 0) continue;
    const from = rnd(text.length);
    const piece = text.slice(from, from + 1 + rnd(8)).join("");
    const q = pick([piece, flipCase(piece), pick(WORDS), flipCase(pick(WORDS)), phrase(1, 2)]);
    if (q.trim() !== "" && q.length <= 100) out.add(q);
  }
  return [...out];
}

/** Today's algorithm, by brute force: every product (sorted by id) tested, first `limit`. */
function bruteSearch(products: ProductRecord[], q: string, limit: number): string[] {
  const re = literalMatcher(q);
  return products.filter((p) => re.test(p.name) || re.test(p.description))
    .slice(0, limit).map((p) => p.id);
}

const ids = (ps: ProductRecord[]) => ps.map((p) => p.id);
const sorted = (ps: ProductRecord[]) => [...ps].sort((a, b) => (a.id < b.id ? -1 : 1));

async function loaded(products: ProductRecord[]): Promise<ProductView> {
  const view = createProductView();
  await view.reload(async () => products);
  return view;
}

describe("search", () => {
  const products = sorted(Array.from({ length: 4_000 }, (_, i) => randomProduct(i)));

  test("the index finds what a full scan finds, in the same order, for every limit", async () => {
    const view = await loaded(products);
    const qs = queries(products, 600);
    let many = 0;
    let few = 0;
    for (const q of qs) {
      const all = bruteSearch(products, q, products.length);
      if (all.length > 2_000) many++;
      if (all.length > 0 && all.length < 50) few++;
      for (const limit of [500, 3]) expect({ q, limit, ids: ids(view.search(q, limit)) }).toEqual({ q, limit, ids: all.slice(0, limit) });
    }
    // Both of the index's paths ran: few candidates (verified, then sorted) and many (walked in id order).
    expect(many).toBeGreaterThan(5);
    expect(few).toBeGreaterThan(100);
  }, 60_000);

  test("still the same after renames, new products and deletions", async () => {
    const view = await loaded(products);
    const current = new Map(products.map((p) => [p.id, p]));
    for (let i = 0; i < 300; i++) {
      const p = pick([...current.values()]);
      const next = { ...p, name: phrase(1, 3), description: rnd(3) === 0 ? p.description : phrase(0, 6),
        updateTime: new Date(p.updateTime.getTime() + 1) };
      view.apply(next);
      current.set(p.id, next);
      const added = randomProduct(10_000 + i);
      view.apply(added);
      current.set(added.id, added);
    }
    // A reload drops what the store no longer has.
    const kept = sorted([...current.values()].filter(() => rnd(10) !== 0));
    await view.reload(async () => kept);
    expect(view.size).toBe(kept.length);
    for (const q of queries(kept, 200)) expect({ q, ids: ids(view.search(q, 500)) }).toEqual({ q, ids: bruteSearch(kept, q, 500) });
  }, 60_000);

  test("in id order and complete when new products land between existing ids (slots out of id order)", async () => {
    // Even ids loaded first, then the odd ones applied last first, so a later slot has a lower id.
    const NAMES = ["Cordless Drill", "drill bits", "DRILL press", "dril rill", "Mug", "hammer drills", "press"];
    const item = (n: number, prefix = "k"): ProductRecord => ({ ...randomProduct(n),
      id: `${prefix}${n.toString().padStart(5, "0")}`, name: `${pick(NAMES)} #${n}` });
    const current = new Map<string, ProductRecord>();
    for (let n = 0; n < 4_000; n += 2) current.set(item(n).id, item(n));
    const view = await loaded(sorted([...current.values()]));
    const check = () => {
      const all = sorted([...current.values()]);
      for (const q of ["drill", "Drill", "dril", "rill", "press", "hammer", "#12", "#1", "mug", pick(WORDS), flipCase(pick(WORDS))]) {
        const want = bruteSearch(all, q, all.length);
        for (const limit of [1, 7, 500, all.length]) {
          expect({ q, limit, ids: ids(view.search(q, limit)) }).toEqual({ q, limit, ids: want.slice(0, limit) });
        }
      }
    };
    check();
    const put = (p: ProductRecord) => {
      view.apply(p);
      current.set(p.id, p);
    };
    for (let n = 3_999; n > 0; n -= 2) {
      put(item(n));
      // Before all and after all, too.
      if (n % 400 === 1) put(item(n, pick(["a", "z"])));
      // A rename keeps the id, and so its place in the order.
      if (n % 7 === 0) {
        const p = pick([...current.values()]);
        put({ ...p, name: `${pick(NAMES)} renamed`, updateTime: new Date(p.updateTime.getTime() + 1) });
      }
      if (n % 200 === 1) check();
    }
    check();
    // A reload that drops some, adds some and renames some; then inserts again.
    const kept = [...current.values()].filter(() => rnd(5) !== 0)
      .map((p) => (rnd(10) === 0 ? { ...p, name: pick(NAMES) } : p))
      .concat(Array.from({ length: 300 }, (_, i) => item(5_000 + i, pick(["b", "k", "y"]))));
    await view.reload(async () => kept);
    current.clear();
    for (const p of kept) current.set(p.id, p);
    check();
    for (let n = 1; n < 600; n += 6) put(item(n, "k0"));
    check();
  }, 60_000);

  test("the first `limit` matches when more than `limit` match, past candidates that do not", async () => {
    // "dril rill" holds every trigram of "drill" but not "drill": a candidate the regex rejects.
    const products = sorted(Array.from({ length: 3_000 }, (_, i) => ({ ...randomProduct(20_000 + i),
      name: i % 3 === 0 ? `dril rill ${i}` : `Cordless Drill ${i}`, description: "" })));
    // 1,500 candidates (sorted and verified) and 3,000 (walked in id order).
    for (const some of [products.filter((_, i) => i % 2 === 0), products]) {
      const view = await loaded(some);
      const matches = bruteSearch(some, "drill", some.length);
      expect(matches.length).toBeGreaterThan(some.length / 2);
      for (const limit of [1, 2, 499, 500, matches.length - 1, matches.length, matches.length + 1, 10_000]) {
        const got = ids(view.search("drill", limit));
        expect(got.length).toBe(Math.min(limit, matches.length));
        expect({ limit, got }).toEqual({ limit, got: matches.slice(0, limit) });
      }
    }
  });
});

describe("apply and reload", () => {
  const p = (id: string, ms: number, name = id): ProductRecord => ({ id, name, description: "", pictureUrl: "",
    price: { currencyCode: "USD", amountMinor: 1 }, categories: ["c"], stock: 1, updateTime: new Date(ms) });

  test("an older version of a product never replaces a newer one", async () => {
    const view = await loaded([p("a", 2_000, "two")]);
    view.apply(p("a", 1_000, "one"));
    expect(view.get("a")?.name).toBe("two");
    view.apply(p("a", 3_000, "three"));
    expect(view.get("a")?.name).toBe("three");
  });

  test("a reload keeps changes that arrived while the store was read, and repairs everything else", async () => {
    const view = await loaded([p("a", 1_000, "a1"), p("b", 1_000, "b1"), p("c", 1_000, "c1")]);
    view.apply(p("c", 5_000, "c-newer-than-store")); // before the reload: the store is the truth
    await view.reload(async () => {
      view.apply(p("a", 2_000, "a2")); // during: newer than the snapshot below
      view.apply(p("n", 2_000, "new")); // during: created after the snapshot was taken
      return [p("a", 1_000, "a1"), p("c", 1_000, "c1"), p("d", 1_000, "d1")];
    });
    expect(ids(view.list({ limit: 10 }))).toEqual(["a", "c", "d", "n"]);
    expect([view.get("a")?.name, view.get("c")?.name]).toEqual(["a2", "c1"]);
    await expect(view.reload(async () => { throw new Error("store down"); })).rejects.toThrow("store down");
    expect(view.size).toBe(4);
  });
});

describe("against the MongoDB queries the view replaced (FerretDB)", () => {
  const url = process.env.SHOP_TEST_MONGO_URL!;
  const db = `test_catalog_view_${randomBytes(4).toString("hex")}`;
  const products = sorted(Array.from({ length: 1_500 }, (_, i) => randomProduct(50_000 + i)));
  let client: MongoClient;
  let coll: Collection<Record<string, unknown> & { _id: string }>;
  let view: ProductView;

  beforeAll(async () => {
    client = await MongoClient.connect(url);
    coll = client.db(db).collection("products");
    await coll.insertMany(products.map(({ id, ...rest }) => ({ _id: id, ...rest })));
    view = await loaded(products);
  }, 60_000);

  afterAll(async () => {
    await client.db(db).dropDatabase();
    await client.close();
  });

  test("search: the $regex query catalog ran, escaped, case-insensitive, sorted by _id, limit 500", async () => {
    // The escaping catalog's Mongo store used (it also escaped "-", which Go's regexp accepts).
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
    for (const q of queries(products, 80)) {
      const docs = await coll.find({ $or: [{ name: { $regex: escape(q), $options: "i" } },
        { description: { $regex: escape(q), $options: "i" } }] }).sort({ _id: 1 }).limit(500).toArray();
      expect({ q, ids: ids(view.search(q, 500)) }).toEqual({ q, ids: docs.map((d) => d._id) });
    }
  }, 120_000);

  test("list: pages by _id with category and price filters", async () => {
    for (let i = 0; i < 40; i++) {
      const q: ListQuery = { limit: 1 + rnd(30) };
      const filter: Record<string, unknown> = {};
      if (rnd(2) === 0) filter.categories = { $eq: (q.category = pick(CATEGORIES)) };
      if (rnd(2) === 0) {
        q.price = { currencyCode: pick(["USD", "EUR", "GBP"]) };
        filter["price.currencyCode"] = { $eq: q.price.currencyCode };
        const range: Record<string, number> = {};
        if (rnd(2) === 0) range.$gte = q.price.min = rnd(3000);
        if (rnd(2) === 0) range.$lte = q.price.max = 2000 + rnd(3000);
        if (Object.keys(range).length > 0) filter["price.amountMinor"] = range;
      }
      let afterId: string | undefined;
      for (let page = 0; page < 3; page++) {
        const f = afterId === undefined ? filter : { ...filter, _id: { $gt: afterId } };
        const docs = await coll.find(f).sort({ _id: 1 }).limit(q.limit).toArray();
        const got = view.list(afterId === undefined ? q : { ...q, afterId });
        expect({ q, page, ids: ids(got) }).toEqual({ q, page, ids: docs.map((d) => d._id) });
        if (got.length < q.limit) break;
        afterId = got[got.length - 1]!.id;
      }
    }
  }, 120_000);
});
