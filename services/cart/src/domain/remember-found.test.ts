// rememberFound: a product found once is not asked about again; a failure (NotFound or other) is
// not remembered; at most `max` ids are kept, the first found dropped first; 0 keeps none.
import { NotFoundError } from "@shopmesh/mesh";
import { rememberFound, type ProductCheck } from "./cart.js";

const signal = new AbortController().signal;

function counting(answers: Record<string, "found" | "missing" | "down">) {
  const asked: string[] = [];
  const check: ProductCheck = async (id) => {
    asked.push(id);
    if (answers[id] === "missing") throw new NotFoundError(`product ${id} not found`);
    if (answers[id] === "down") throw new Error("catalog is unavailable");
  };
  return { asked, check };
}

test("asks once per found product, and every time for one not found or not answered", async () => {
  const { asked, check } = counting({ a: "found", gone: "missing", b: "down" });
  const known = rememberFound(check, 10);
  await known("a", signal);
  await known("a", signal);
  await expect(known("gone", signal)).rejects.toThrow("product gone not found");
  await expect(known("gone", signal)).rejects.toThrow("product gone not found");
  await expect(known("b", signal)).rejects.toThrow("catalog is unavailable");
  await expect(known("b", signal)).rejects.toThrow("catalog is unavailable");
  expect(asked).toEqual(["a", "gone", "gone", "b", "b"]);
});

test("keeps at most max ids, dropping the first found; max 0 asks every time", async () => {
  const { asked, check } = counting({ a: "found", b: "found", c: "found" });
  const known = rememberFound(check, 2);
  for (const id of ["a", "b", "c", "b", "c", "a"]) await known(id, signal);
  expect(asked).toEqual(["a", "b", "c", "a"]);
  const none = counting({ a: "found" });
  const never = rememberFound(none.check, 0);
  await never("a", signal);
  await never("a", signal);
  expect(none.asked).toEqual(["a", "a"]);
});
