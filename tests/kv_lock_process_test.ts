/**
 * `deno task start` on a KV file that another process holds locked: SQLite
 * makes the store wait for as long as the lock lasts, so the proxy says that
 * it waits, and for what (it said nothing before), and starts once the lock
 * is gone. Order is checked by the lines the process writes, not by time.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { within } from "./_async.ts";
import { denoProcess, MAIN } from "./_deno_process.ts";
import { withKvFile } from "./_harness.ts";

Deno.test("deno task start on a KV file another process holds locked says it waits for the store, and starts when the lock ends", async () => {
  await withKvFile(async (path) => {
    (await Deno.openKv(path)).close(); // an existing store
    const db = new DatabaseSync(path);
    db.exec("BEGIN EXCLUSIVE");
    let locked = true;
    const unlock = () => {
      if (locked) db.exec("COMMIT");
      locked = false;
    };
    const child = denoProcess(MAIN, {
      env: {
        OPENROUTER_API_KEY: "sk-or-v1-kv-lock-test",
        OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
        FREEROUTER_KV_PATH: path,
        PORT: "0",
      },
    });
    const lines = child.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let seen = "";
    const until = async (pattern: RegExp, what: string) => {
      while (!pattern.test(seen)) {
        const { done, value } = await within(lines.read(), what);
        if (done) assert.fail(`${what}, but the process ended:\n${seen}`);
        seen += value;
      }
    };
    try {
      await until(
        /Waiting for the KV store at FREEROUTER_KV_PATH .*another process may hold its file locked/,
        "the line saying it waits for the store",
      );
      assert.doesNotMatch(seen, /listening on/);
      unlock();
      await until(/listening on http:\/\//, "the listening line");
    } finally {
      unlock();
      db.close();
      child.kill("SIGTERM");
      for (;;) {
        const { done } = await lines.read();
        if (done) break;
      }
      await child.status;
      await child.stdout.cancel();
    }
  });
});
