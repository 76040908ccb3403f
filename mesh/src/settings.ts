// Typed service settings from the environment. Each service declares one schema (variable name,
// default, doc and parser per key) and main.ts hands in process.env; a bad value stops the start
// with one error that names every bad variable.

/** One setting of a service's schema. */
export interface Setting<T> {
  /** The environment variable. */
  env: string;
  /** What it means (service READMEs list it). */
  doc: string;
  /** Used when the variable is unset or empty; undefined makes the setting optional (undefined). */
  def: string | undefined;
  /** Turns the raw string into the value; throws an Error saying what is wrong. */
  parse: (raw: string) => T;
}

/** The values a schema describes; optional settings (no default) may be undefined. */
export type Settings<S extends Record<string, Setting<unknown>>> = {
  [K in keyof S]: S[K] extends Setting<infer T> ? (S[K]["def"] extends string ? T : T | undefined) : never;
};

/** Any string, as is. */
export const str = (raw: string): string => raw;

/** An integer in [min, max]. */
export const int = (min: number, max: number) => (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`);
  return n;
};

/** A number in [min, max]. */
export const num = (min: number, max: number) => (raw: string): number => {
  const n = Number(raw);
  if (!(n >= min && n <= max)) throw new Error(`must be a number from ${min} to ${max}`);
  return n;
};

/** true/1 or false/0. */
export const bool = (raw: string): boolean => {
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new Error("must be true or false");
};

/** One of the given words. */
export const oneOf = <T extends string>(...words: T[]) => (raw: string): T => {
  if (!(words as string[]).includes(raw)) throw new Error(`must be one of ${words.join(", ")}`);
  return raw as T;
};

/** A port (0 = any free one), or "off" for none. */
export const portOrOff = (raw: string): number | undefined => (raw === "off" ? undefined : int(0, 65535)(raw));

/**
 * Parses every setting of `schema` from `env`. `check` may add problems that span settings (e.g.
 * "required in istio mode"). Throws `<service> config: VAR="raw": why; ...` naming every problem.
 */
export function parseSettings<S extends Record<string, Setting<unknown>>>(service: string, schema: S,
  env: Record<string, string | undefined>, check?: (values: Settings<S>) => string[]): Settings<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(schema)) {
    const raw = env[setting.env] || setting.def;
    if (raw === undefined) continue;
    try {
      values[key] = setting.parse(raw);
    } catch (err) {
      problems.push(`${setting.env}=${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
  }
  if (problems.length === 0 && check) problems.push(...check(values as Settings<S>));
  if (problems.length > 0) throw new Error(`${service} config: ${problems.join("; ")}`);
  return values as Settings<S>;
}

/** The parsers, for schemas: `const { int, str } = parsers;`. */
export const parsers = { str, int, num, bool, oneOf, portOrOff };
