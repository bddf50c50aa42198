// The Levenshtein distance the browser tests' error rates count, as the native tests'
// (worker/tools/tests/edit_distance) do.

/**
 * Insertions, deletions and substitutions that turn `a` into `b`, counted in Unicode scalar
 * values (a string's code points, or an array's items).
 * @param {string | string[]} a
 * @param {string | string[]} b
 */
export function editDistance(a, b) {
  const [x, y] = [Array.from(a), Array.from(b)];
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 0; i < x.length; i++) {
    const next = [i + 1];
    for (let j = 0; j < y.length; j++) next.push(Math.min(row[j] + (x[i] !== y[j]), row[j + 1] + 1, next[j] + 1));
    row = next;
  }
  return row[y.length];
}
