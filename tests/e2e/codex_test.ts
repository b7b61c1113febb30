/**
 * Codex itself (`codex exec`, a custom provider with `wire_api =
 * "responses"`) against freerouter started as `deno task start` starts it,
 * in front of the fake OpenRouter. Answers are checked on Codex's stdout
 * (the final message), not by its exit code (its silent failures exit 0).
 *
 * Skipped when Codex is not installed (see `_clients.ts`).
 */
import assert from "node:assert/strict";
import { awayFromMidnight } from "../_async.ts";
import { CLIENTS_MISSING, codexBin, runCodex } from "./_clients.ts";
import {
  answerText,
  answerWithUsage,
  assertParallelRoundTrip,
  assertToolRoundTrip,
  checkSessionAffinity,
  CLIENT_TIMEOUT_SEC,
  conversationOf,
  fallbackModels,
  greeting,
  imageRequests,
  imagesIn,
  imagesSeen,
  markerCommand,
  nonce,
  PNG_1X1,
  RESUMPTIONS,
  scriptEveryModel,
  scriptGreeting,
  scriptOutage,
  scriptParallelCallsBreakingOnce,
  scriptToolTurn,
  shrinkContexts,
  toolDone,
  toolsDone,
  userText,
  withStack,
} from "./_scripted.ts";
import {
  type DynamicStep,
  insufficientCredits402,
  providerError502,
} from "../fake_openrouter/mod.ts";

const missing = codexBin() === undefined;
if (missing) console.log(`codex_test: skipped: ${CLIENTS_MISSING}`);

Deno.test({
  name: "Codex gets a text answer from a free model through /v1/responses",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      const word = nonce();
      scriptGreeting(fake, word);
      const run = await runCodex({
        baseUrl: url,
        prompt: `Please greet ${word}.`,
        timeoutSec: CLIENT_TIMEOUT_SEC,
      });
      const requests = fake.chatRequests();
      assert.equal(requests.length, 1, run.stderr);
      const model = requests[0]!.model;
      assert.equal(
        run.stdout.trim(),
        greeting(word, model),
        run.stderr,
      );
      assert.equal(run.lastMessage?.trim(), greeting(word, model));
      assert.equal(run.code, 0);
    });
  },
});

Deno.test({
  name:
    "Codex runs the exec_command call a free model asks for and gets the answer to its output",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      const marker = `E2E-TOOL-${nonce()}`;
      const { command, output } = markerCommand(nonce());
      scriptToolTurn(fake, marker, output, {
        id: "call_e2e_1",
        name: "exec_command",
        arguments: JSON.stringify({ cmd: command }),
      });
      const run = await runCodex({
        baseUrl: url,
        prompt: `Run the command for ${marker}.`,
        timeoutSec: CLIENT_TIMEOUT_SEC,
      });
      assert.equal(
        run.stdout.trim(),
        toolDone(output),
        run.stderr,
      );
      assertToolRoundTrip(fake, {
        id: "call_e2e_1",
        name: "exec_command",
        key: "cmd",
        value: command,
      }, output);
    });
  },
});

Deno.test({
  name:
    "Codex sees one good answer when the first model fails (freerouter falls back; no client retry)",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      let calls = 0;
      scriptEveryModel(
        fake,
        (c) =>
          ++calls === 1
            ? providerError502(c.model)
            : answerText(c, `Recovered on ${c.model}.`),
      );
      const run = await runCodex({
        baseUrl: url,
        prompt: "Say something.",
        timeoutSec: CLIENT_TIMEOUT_SEC,
        streamMaxRetries: 0,
      });
      const models = fallbackModels(fake, run.stderr);
      assert.equal(run.stdout.trim(), `Recovered on ${models[1]}.`, run.stderr);
      assert.equal(run.code, 0);
    });
  },
});

for (const [when, script, requests] of RESUMPTIONS) {
  Deno.test({
    name: `Codex gets the whole answer when ${when}`,
    ignore: missing,
    async fn() {
      await withStack(async ({ fake, url }) => {
        const text = script(fake);
        const run = await runCodex({
          baseUrl: url,
          prompt: "Say something.",
          timeoutSec: CLIENT_TIMEOUT_SEC,
          streamMaxRetries: 0,
        });
        assert.equal(run.stdout.trim(), text, run.stderr);
        assert.equal(run.code, 0);
        assert.equal(fake.chatRequests().length, requests, run.stderr);
      });
    },
  });
}

Deno.test({
  name:
    "Codex runs both parallel exec_command calls when the first model's stream breaks inside the second call's arguments (freerouter holds the calls and falls back before commit)",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      const marker = `E2E-PARALLEL-${nonce()}`;
      const runs = [markerCommand(nonce()), markerCommand(nonce())];
      const calls = runs.map(({ command }, i) => ({
        id: `call_e2e_p${i + 1}`,
        name: "exec_command",
        arguments: JSON.stringify({ cmd: command }),
      }));
      const outputs = runs.map((r) => r.output);
      scriptParallelCallsBreakingOnce(fake, marker, calls, outputs);
      const run = await runCodex({
        baseUrl: url,
        prompt: `Run both commands for ${marker}.`,
        timeoutSec: CLIENT_TIMEOUT_SEC,
        streamMaxRetries: 0,
      });
      assert.equal(run.stdout.trim(), toolsDone(outputs), run.stderr);
      assert.equal(run.code, 0, run.stderr);
      assertParallelRoundTrip(fake, calls, outputs, run.stderr);
    });
  },
});

Deno.test({
  name:
    "Codex sends an attached image (--image), and it reaches a free model that takes images",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      scriptEveryModel(
        fake,
        (c) => answerText(c, imagesSeen(imagesIn(c), c.model)),
      );
      const run = await runCodex({
        baseUrl: url,
        prompt: "Describe the attached image.",
        timeoutSec: CLIENT_TIMEOUT_SEC,
        images: ["shot.png"],
        setup: (dir) => Deno.writeFile(`${dir}/shot.png`, PNG_1X1),
      });
      const [sent, ...more] = imageRequests(fake);
      assert.deepEqual(more, [], run.stdout + run.stderr);
      assert.equal(sent?.takesImages, true, JSON.stringify(sent));
      assert.equal(
        run.lastMessage?.trim(),
        imagesSeen(1, sent.model),
        run.stdout + run.stderr,
      );
      assert.equal(run.code, 0);
    });
  },
});

Deno.test({
  name:
    "Codex shows OpenRouter's 402 (the account's credits) as the error, after one upstream attempt, instead of a 502 after every model",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      scriptEveryModel(fake, () => insufficientCredits402());
      const run = await runCodex({
        baseUrl: url,
        prompt: "Say something.",
        timeoutSec: CLIENT_TIMEOUT_SEC,
        streamMaxRetries: 0,
      });
      const detail = run.stdout + run.stderr;
      assert.match(run.stderr, /Insufficient credits/, detail);
      assert.equal(fake.chatRequests().length, 1, detail);
    });
  },
});

Deno.test({
  name:
    "Codex keeps a session on the model that answered its first turn, and a new session in the same directory starts from the pool's first (conversation affinity on)",
  ignore: missing,
  async fn() {
    // Codex's first user message describes the directory, the same for both
    // sessions; its prompt_cache_key (the thread) tells them apart.
    await checkSessionAffinity(
      (command) => ({ name: "exec_command", arguments: { cmd: command } }),
      async (url, prompt, userDir) => {
        const run = await runCodex({
          baseUrl: url,
          prompt,
          userDir,
          timeoutSec: CLIENT_TIMEOUT_SEC,
        });
        return { answer: run.stdout.trim(), detail: run.stderr };
      },
    );
  },
});

Deno.test({
  name:
    "Codex reads a request too long for every free model as running out of its context window, not as a raw error",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      shrinkContexts(fake, 2_000);
      const run = await runCodex({
        baseUrl: url,
        prompt: "Say hello.",
        timeoutSec: CLIENT_TIMEOUT_SEC,
      });
      assert.notEqual(run.code, 0);
      assert.match(
        run.stderr,
        /ERROR: Codex ran out of room in the model's context window/,
      );
      assert.equal(fake.chatRequests().length, 0);
    });
  },
});

Deno.test({
  name:
    "Codex compacts a session that outgrows every free model's context when config.toml gives it the window, as the README says, and goes on",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      shrinkContexts(fake, 64_000);
      /** The compaction requests Codex sent (its checkpoint prompt). */
      let compactions = 0;
      const step: DynamicStep = {
        respond: (body) => {
          const c = conversationOf(body);
          const users = c.messages.filter((m) => m.role === "user");
          const last = userText({ ...c, messages: users.slice(-1) }).trim();
          if (/CONTEXT CHECKPOINT COMPACTION/.test(last)) {
            compactions++;
            const ends = new Set(
              [...JSON.stringify(c.messages).matchAll(/END-[A-Z]/g)].map((m) =>
                m[0]
              ),
            );
            return answerWithUsage(
              body,
              c,
              `SUMMARY: the user noted ${[...ends].join(", ")}`,
            );
          }
          return answerWithUsage(body, c, `Noted: ${last.slice(-5)}`);
        },
      };
      // Every model of the catalog: the compaction request asks for no tools.
      for (const row of fake.models) {
        const id = (row as { id?: unknown } | null)?.id;
        if (typeof id === "string") {
          fake.script(id, ...Array.from({ length: 20 }, () => step));
        }
      }
      const userDir = await Deno.makeTempDir({ prefix: "freerouter-ctx-" });
      try {
        const turns = [
          "Say hello.",
          `Note this: ${"alpha beta gamma ".repeat(2400)}END-A`,
          `Note this too: ${"one two three ".repeat(3600)}END-B`,
          `And this: ${"red green blue ".repeat(4500)}END-C`,
          `More: ${"north south east west ".repeat(3600)}END-D`,
          `Last: ${"up down left right ".repeat(3600)}END-E`,
        ];
        for (const [i, prompt] of turns.entries()) {
          const run = await runCodex({
            baseUrl: url,
            prompt,
            userDir,
            resume: i > 0,
            // The README's lines, at this catalog's size.
            config: [
              "model_context_window = 64000",
              "model_auto_compact_token_limit = 40000",
            ],
            timeoutSec: CLIENT_TIMEOUT_SEC,
          });
          assert.equal(run.code, 0, `turn ${i}: ${run.stderr}`);
          assert.equal(
            run.stdout.trim(),
            `Noted: ${prompt.slice(-5)}`,
            `turn ${i}: ${run.stderr}`,
          );
        }
        assert.ok(compactions >= 1, "Codex compacted the session");
      } finally {
        await Deno.remove(userDir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name:
    "Codex stops at once when the account's day is spent, instead of waiting in silence until 00:00 UTC",
  ignore: missing,
  async fn() {
    // Within a minute of 00:00 UTC the wait is short enough to be waited out.
    await awayFromMidnight(120_000);
    await withStack(
      async ({ fake, url }) => {
        const run = await runCodex({
          baseUrl: url,
          prompt: "Say hello.",
          requestMaxRetries: 4,
          streamMaxRetries: 5,
          // Codex waits out a Retry-After of hours: this bound fails that.
          timeoutSec: 30,
        });
        assert.equal(run.timedOut, false, run.stderr);
        assert.notEqual(run.code, 0);
        assert.match(
          run.stderr,
          /ERROR: exceeded retry limit, last status: 429 Too Many Requests/,
        );
        // At most the request that met the cap (when /key had not been read).
        assert.ok(fake.chatRequests().length <= 1);
      },
      {},
      { freeTier: { perDay: 50, usedToday: 50 } },
    );
  },
});

Deno.test({
  name:
    "Codex with its default retries in an outage of every free model tries each model once at most, not the day: after each failed round freerouter tries the others first, then pauses the account's attempts",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      scriptOutage(fake, 40);
      const run = await runCodex({
        baseUrl: url,
        prompt: "Say hello.",
        requestMaxRetries: 4,
        streamMaxRetries: 5,
        timeoutSec: CLIENT_TIMEOUT_SEC,
      });
      assert.equal(run.timedOut, false, run.stderr);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /502 Bad Gateway/, run.stderr);
      // Each model is tried at most once: after every round the models
      // that failed go last, and once no other is left the account's
      // requests wait out the pause without an attempt.
      const tried = fake.chatRequests().map((q) => q.model);
      assert.equal(new Set(tried).size, tried.length, tried.join(", "));
      assert.ok(tried.length >= 6, tried.join(", "));
    }, { MAX_ATTEMPTS: "3" });
  },
});
