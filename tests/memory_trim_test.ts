import assert from "node:assert/strict";
import {
  IDLE_TRIMS,
  IdleTrimmer,
  startMemoryTrimmer,
} from "../src/memory_trim.ts";

Deno.test("IdleTrimmer trims on the first idle ticks after activity, never while busy", () => {
  let trims = 0;
  const trimmer = new IdleTrimmer(() => trims++);
  trimmer.tick();
  assert.equal(trims, 0, "nothing to give back before any activity");
  trimmer.touch();
  trimmer.tick();
  assert.equal(trims, 0, "the tick that saw activity does not trim");
  for (let i = 0; i < IDLE_TRIMS + 2; i++) trimmer.tick();
  assert.equal(trims, IDLE_TRIMS, "a few trims while idle, then none");
  trimmer.touch();
  trimmer.tick();
  trimmer.touch();
  trimmer.tick();
  assert.equal(trims, IDLE_TRIMS, "still busy: no trim");
  trimmer.tick();
  assert.equal(trims, IDLE_TRIMS + 1);
});

Deno.test("startMemoryTrimmer() starts and stops cleanly with the permissions it has", () => {
  const trimmer = startMemoryTrimmer(60_000);
  trimmer.touch();
  trimmer.close();
});
