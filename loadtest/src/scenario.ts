// A ghz scenario as kept in loadtest/scenarios/*.json, and its rendering into ghz's data and
// metadata templates. Placeholders (%NAME%) are filled by the runner with what only exists at run
// time: the seeded product ids and the users' fresh tokens.

/** One scenario file. */
export interface Scenario {
  /** Unique name; also the report file name. */
  name: string;
  /** What it does and why it is shaped this way. */
  description: string;
  /** Fully qualified method, package.Service/Method. */
  call: string;
  /** Request as JSON; string values may hold ghz template actions and %PLACEHOLDERS%. */
  data: unknown;
  /** Whether calls carry a logged-in user's token (round robin over the users). */
  auth?: boolean;
  /** "duration" (default): run for LOADTEST_DURATION. "one-per-cart": one call per filled cart. */
  mode?: "duration" | "one-per-cart";
  /** Use only the first N products (keeps carts under their 50-product limit). */
  maxProducts?: number;
}

/** Values the placeholders are replaced with. */
export interface ScenarioVars {
  /** Seeded product ids. */
  productIds: readonly string[];
  /** Access tokens, one per user. */
  tokens: readonly string[];
}

// Go template raw strings (backticks) need no escaping inside JSON, unlike double quotes.
const goList = (items: readonly string[]) => items.map((s) => `\`${s}\``).join(" ");

/** Validates a parsed scenario file; throws with the file's name on a malformed one. */
export function parseScenario(file: string, value: unknown): Scenario {
  const s = value as Partial<Scenario>;
  const problems: string[] = [];
  if (typeof s.name !== "string" || !/^[a-z0-9-]+$/.test(s.name)) problems.push("name must be kebab-case");
  if (typeof s.call !== "string" || !/^[\w.]+\/\w+$/.test(s.call)) problems.push("call must be package.Service/Method");
  if (s.data === undefined || s.data === null || typeof s.data !== "object") problems.push("data must be an object");
  if (s.mode !== undefined && s.mode !== "duration" && s.mode !== "one-per-cart") problems.push("mode is duration or one-per-cart");
  if (s.mode === "one-per-cart" && !s.auth) problems.push("one-per-cart needs auth");
  if (problems.length) throw new Error(`${file}: ${problems.join("; ")}`);
  return { description: "", ...s } as Scenario;
}

/** Renders the scenario's ghz --data and --metadata (undefined when it needs no token). */
export function renderScenario(s: Scenario, vars: ScenarioVars): { data: string; metadata?: string } {
  const products = vars.productIds.slice(0, s.maxProducts ?? vars.productIds.length);
  if (products.length === 0) throw new Error(`${s.name}: no products to call with`);
  if (s.auth && vars.tokens.length === 0) throw new Error(`${s.name}: needs logged-in users`);
  const fill = (text: string) =>
    text
      .replaceAll("%PRODUCT_IDS%", goList(products))
      .replaceAll("%PRODUCTS%", String(products.length))
      .replaceAll("%USERS%", String(Math.max(1, vars.tokens.length)));
  const data = fill(JSON.stringify(s.data));
  if (!s.auth) return { data };
  // Call n carries user n mod USERS: with ORDERS calls over ORDERS users each cart is used once.
  const metadata = fill(
    JSON.stringify({ authorization: `Bearer {{ index (list %TOKENS%) (mod .RequestNumber %USERS%) }}` }),
  ).replaceAll("%TOKENS%", goList(vars.tokens));
  return { data, metadata };
}
