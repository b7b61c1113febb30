/**
 * Run by memory_trim_test.ts as its own process (with `--expose-gc`): grows
 * the heap with garbage, then prints the committed heap size after a plain
 * `gc()` and after {@link openMemoryTrim}'s trim, as JSON.
 */
import { openMemoryTrim } from "../src/memory_trim.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
let live: unknown[] = [];
for (let i = 0; i < 1_500_000; i++) {
  live.push({ i, text: `item ${i}` });
  if (live.length === 300_000) live = [];
}
live = [];
gc();
const afterGc = Deno.memoryUsage().heapTotal;
const memory = openMemoryTrim()!;
memory.trim();
memory.close();
console.log(
  JSON.stringify({ afterGc, afterTrim: Deno.memoryUsage().heapTotal }),
);
