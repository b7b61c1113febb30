import assert from "node:assert/strict";
import { Deadline } from "../src/deadline.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("Deadline fires once, in order, on one shared timer; re-arming delays it and clearing disarms it", async () => {
  const fired: string[] = [];
  const early = new Deadline(() => fired.push("early"));
  const late = new Deadline(() => fired.push("late"));
  const moved = new Deadline(() => fired.push("moved"));
  const cleared = new Deadline(() => fired.push("cleared"));
  late.arm(60);
  early.arm(20); // earlier than the timer already set: the timer moves up
  moved.arm(30);
  cleared.arm(10);
  cleared.clear();
  await sleep(25);
  moved.arm(80); // re-armed before it fired: now due after `late`
  await sleep(100);
  assert.deepEqual(fired, ["early", "late", "moved"]);
  assert.equal(early.fired, true);
  assert.equal(cleared.fired, false);
});
