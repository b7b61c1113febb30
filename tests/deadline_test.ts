import assert from "node:assert/strict";
import { Deadline } from "../src/upstream/deadline.ts";
import { deferred, within } from "./_async.ts";
import { runScript } from "./_deno_process.ts";

Deno.test("Deadline fires once, in order, on one shared timer; re-arming delays it and clearing disarms it", async () => {
  const fired: string[] = [];
  const done = deferred();
  const late = new Deadline(() => fired.push("late"));
  const moved = new Deadline(() => {
    fired.push("moved");
    done.resolve();
  });
  const cleared = new Deadline(() => fired.push("cleared"));
  const middle = new Deadline(() => fired.push("middle"));
  const early = new Deadline(() => {
    fired.push("early");
    // Re-armed before it fired: now due after `late`.
    moved.arm(200);
  });
  late.arm(100);
  early.arm(10); // earlier than the timer already set: the timer moves up
  moved.arm(60);
  cleared.arm(5);
  middle.arm(30);
  cleared.clear(); // unlinked from the middle of the armed list
  cleared.clear(); // a second clear is harmless
  await within(done.promise, "the re-armed deadline fired");
  assert.deepEqual(fired, ["early", "middle", "late", "moved"]);
  assert.equal(early.fired, true);
  assert.equal(cleared.fired, false);
});

Deno.test("Deadline: after every deadline was cleared, a new one still fires on the timer left behind", async () => {
  const done = deferred();
  const a = new Deadline(() => assert.fail("cleared, must not fire"));
  a.arm(5);
  a.clear(); // nothing armed; the shared timer is left to run out
  const b = new Deadline(() => done.resolve());
  b.arm(20); // later than the timer left behind: it re-sets itself for b
  await within(done.promise, "the later deadline fired");
  assert.equal(a.fired, false);
  assert.equal(b.fired, true);
});

Deno.test("Deadline: deadlines due together fire in the order they were due; one a callback re-arms waits", async () => {
  const fired: string[] = [];
  const done = deferred();
  const later = new Deadline(() => {
    fired.push("later");
    done.resolve();
  });
  const sooner = new Deadline(() => {
    fired.push("sooner");
    later.arm(100); // due in the same batch, re-armed before it fires
  });
  const last = new Deadline(() => fired.push("last"));
  sooner.arm(0);
  later.arm(1); // armed after `sooner`, so ahead of it in the list
  last.arm(50);
  // Block the event loop past both, so one timer tick finds both due.
  const until = performance.now() + 5;
  while (performance.now() < until) { /* busy */ }
  await within(done.promise, "the re-armed deadline fired");
  assert.deepEqual(fired, ["sooner", "last", "later"]);
});

Deno.test("Deadline: a callback that arms another deadline, due at once, is served", async () => {
  const done = deferred();
  const second = new Deadline(() => done.resolve());
  const firstDeadline = new Deadline(() => second.arm(0));
  firstDeadline.arm(1);
  await within(done.promise, "the deadline armed by a callback fired");
  assert.equal(second.fired, true);
});

Deno.test("Deadline: an armed deadline keeps the process alive, a cleared one does not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/deadlines.ts`;
    const module = new URL("../src/upstream/deadline.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { Deadline } from ${JSON.stringify(module)};
const cleared = new Deadline(() => console.log("cleared fired"));
const late = new Deadline(() => {
  console.log("late fired");
  cleared.arm(600_000);
  cleared.clear();
});
const early = new Deadline(() => console.log("early fired"));
early.arm(30);
early.clear(); // the timer is left behind, not keeping the process alive
late.arm(50); // armed: the timer left behind keeps the process alive again
`,
    );
    // Exits once \`late\` fired. Without the reference taken back when \`late\`
    // is armed, it would exit at once and print nothing; with a timer kept
    // referenced after \`cleared\` is cleared, it would run for ten minutes
    // (the watchdog fails the test).
    const result = await within(
      runScript(script),
      "the process exited",
      30_000,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "late fired\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
