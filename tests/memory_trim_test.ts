import assert from "node:assert/strict";
import {
  IDLE_TRIMS,
  IdleTrimmer,
  openMemoryTrim,
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

Deno.test("openMemoryTrim() is undefined without --expose-gc or --allow-ffi", async () => {
  const ffi = await Deno.permissions.query({ name: "ffi" });
  const gc = (globalThis as { gc?: unknown }).gc;
  const memory = openMemoryTrim();
  try {
    assert.equal(
      memory === undefined,
      gc === undefined && ffi.state !== "granted",
    );
  } finally {
    memory?.close();
  }
});

Deno.test("openMemoryTrim() gives back the heap a plain gc() leaves committed after churn", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-ffi",
      "--v8-flags=--expose-gc",
      new URL("./_heap_churn.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const { afterGc, afterTrim } = JSON.parse(
    new TextDecoder().decode(out.stdout),
  );
  const mib = 1024 * 1024;
  assert.ok(afterGc > 32 * mib, `the churn grew the heap (${afterGc} bytes)`);
  assert.ok(
    afterTrim < afterGc / 2,
    `committed heap ${afterGc} -> ${afterTrim} bytes after the trim`,
  );
});
