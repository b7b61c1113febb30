/**
 * Claude Code itself (headless, `claude -p --output-format json --model
 * auto`) against freerouter started as `deno task start` starts it, in front
 * of the fake OpenRouter. Answers are checked in Claude Code's JSON output,
 * not by its exit code (its silent failures exit 0).
 *
 * Skipped when Claude Code is not installed (see `_clients.ts`).
 */
import assert from "node:assert/strict";
import { claudeBin, CLIENTS_MISSING, runClaude } from "./_clients.ts";
import {
  answerText,
  assertParallelRoundTrip,
  assertToolRoundTrip,
  checkSessionAffinity,
  CLIENT_TIMEOUT_SEC,
  fallbackModels,
  greeting,
  markerCommand,
  nonce,
  scriptEveryModel,
  scriptGreeting,
  scriptOutage,
  scriptParallelCallsBreakingOnce,
  scriptRefusal,
  scriptToolTurn,
  shrinkContexts,
  toolDone,
  toolsDone,
  withStack,
} from "./_scripted.ts";
import {
  type FakeOpenRouter,
  insufficientCredits402,
  modelRpm,
} from "../fake_openrouter/mod.ts";
import {
  answerToolCall,
  type Conversation,
  conversationOf,
  filesIn,
  imageRequests,
  imagesIn,
  imagesSeen,
  PDF_ONE_PAGE,
  PNG_1X1,
  RESUMPTIONS,
  type Stack,
  userText,
} from "./_scripted.ts";

const missing = claudeBin() === undefined;
if (missing) console.log(`claude_code_test: skipped: ${CLIENTS_MISSING}`);

Deno.test({
  name: "Claude Code gets a text answer from a free model through /v1/messages",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      const word = nonce();
      scriptGreeting(fake, word);
      const run = await runClaude({
        baseUrl: url,
        prompt: `Please greet ${word}.`,
        timeoutSec: CLIENT_TIMEOUT_SEC,
      });
      const requests = fake.chatRequests();
      assert.equal(requests.length, 1, run.stderr);
      const model = requests[0]!.model;
      assert.equal(
        run.json?.result,
        greeting(word, model),
        run.stdout + run.stderr,
      );
      assert.equal(run.json?.is_error, false);
      assert.equal(run.code, 0);
      assert.equal((requests[0]!.body as { stream?: boolean }).stream, true);
    });
  },
});

Deno.test({
  name:
    "Claude Code runs the Bash tool call a free model asks for and gets the answer to its result",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      const marker = `E2E-TOOL-${nonce()}`;
      const { command, output } = markerCommand(nonce());
      scriptToolTurn(fake, marker, output, {
        id: "toolu_e2e_1",
        name: "Bash",
        arguments: JSON.stringify({
          command,
          description: "Print the e2e marker",
        }),
      });
      const run = await runClaude({
        baseUrl: url,
        prompt: `Run the command for ${marker}.`,
        timeoutSec: CLIENT_TIMEOUT_SEC,
        allowedTools: ["Bash"],
      });
      assert.equal(
        run.json?.result,
        toolDone(output),
        run.stdout + run.stderr,
      );
      assert.equal(run.json?.num_turns, 2);
      assert.deepEqual(run.json?.permission_denials, []);
      assertToolRoundTrip(fake, {
        id: "toolu_e2e_1",
        name: "Bash",
        key: "command",
        value: command,
      }, output);
    });
  },
});

Deno.test({
  name:
    "Claude Code sees one good answer when the first model is rate-limited (freerouter falls back; no client retry)",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      let calls = 0;
      scriptEveryModel(
        fake,
        (c) =>
          ++calls === 1
            ? modelRpm(c.model)
            : answerText(c, `Recovered on ${c.model}.`),
      );
      const run = await runClaude({
        baseUrl: url,
        prompt: "Say something.",
        timeoutSec: CLIENT_TIMEOUT_SEC,
        maxRetries: 0,
      });
      const models = fallbackModels(fake, run.stderr);
      assert.equal(
        run.json?.result,
        `Recovered on ${models[1]}.`,
        run.stdout + run.stderr,
      );
      assert.equal(run.json?.is_error, false);
    });
  },
});

/**
 * Claude Code on `prompt` (no retries of its own) prints exactly the text
 * `script` has the fake's models give, as no error, after `requests`
 * upstream requests.
 */
async function printsScripted(
  prompt: string,
  script: (fake: FakeOpenRouter) => string,
  requests: number,
): Promise<void> {
  await withStack(async ({ fake, url }) => {
    const text = script(fake);
    const run = await runClaude({
      baseUrl: url,
      prompt,
      timeoutSec: CLIENT_TIMEOUT_SEC,
      maxRetries: 0,
    });
    assert.equal(run.json?.result, text, run.stdout + run.stderr);
    assert.equal(run.json?.is_error, false);
    assert.equal(fake.chatRequests().length, requests, run.stderr);
  });
}

for (const [when, script, requests] of RESUMPTIONS) {
  Deno.test({
    name: `Claude Code gets the whole answer when ${when}`,
    ignore: missing,
    fn: () => printsScripted("Say something.", script, requests),
  });
}

Deno.test({
  name:
    "Claude Code runs both parallel Bash calls when the first model's stream breaks inside the second call's arguments (freerouter holds the calls and falls back before commit)",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      const marker = `E2E-PARALLEL-${nonce()}`;
      const runs = [markerCommand(nonce()), markerCommand(nonce())];
      const calls = runs.map(({ command }, i) => ({
        id: `toolu_e2e_p${i + 1}`,
        name: "Bash",
        arguments: JSON.stringify({
          command,
          description: `Print e2e marker ${i + 1}`,
        }),
      }));
      const outputs = runs.map((r) => r.output);
      scriptParallelCallsBreakingOnce(fake, marker, calls, outputs);
      const run = await runClaude({
        baseUrl: url,
        prompt: `Run both commands for ${marker}.`,
        timeoutSec: CLIENT_TIMEOUT_SEC,
        allowedTools: ["Bash"],
        maxRetries: 0,
      });
      const detail = run.stdout + run.stderr;
      assert.equal(run.json?.result, toolsDone(outputs), detail);
      assert.equal(run.json?.is_error, false, detail);
      assert.deepEqual(run.json?.permission_denials, []);
      assertParallelRoundTrip(fake, calls, outputs, detail);
    });
  },
});

Deno.test({
  name:
    "Claude Code shows a free model's refusal as its answer (the Messages front turns the chat refusal into text)",
  ignore: missing,
  fn: () => printsScripted("Do something you refuse.", scriptRefusal, 1),
});

/**
 * Runs Claude Code on `prompt` (a marker added) with its Read tool allowed:
 * every free model answers the marker with a Read of `name` (written with
 * `bytes` to the working directory), and the tool result with `answer`.
 */
async function runClaudeReading(
  { fake, url }: Pick<Stack, "fake" | "url">,
  name: string,
  bytes: Uint8Array,
  prompt: string,
  answer: (c: Conversation) => string,
) {
  const marker = `E2E-READ-${nonce()}`;
  let path = "";
  scriptEveryModel(fake, (c) => {
    if (c.messages.some((m) => m.role === "tool")) {
      return answerText(c, answer(c));
    }
    if (userText(c).includes(marker)) {
      return answerToolCall(c, {
        id: "toolu_e2e_read",
        name: "Read",
        arguments: JSON.stringify({ file_path: path }),
      });
    }
    return answerText(c, "the marker did not arrive");
  });
  return await runClaude({
    baseUrl: url,
    prompt: `${prompt} (${marker}).`,
    timeoutSec: CLIENT_TIMEOUT_SEC,
    allowedTools: ["Read"],
    setup: async (dir) => {
      path = `${dir}/${name}`;
      await Deno.writeFile(path, bytes);
    },
  });
}

Deno.test({
  name:
    "Claude Code reads an image with its Read tool, and the image reaches a free model that takes images",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      const run = await runClaudeReading(
        { fake, url },
        "shot.png",
        PNG_1X1,
        "Describe the image in ./shot.png",
        (c) => imagesSeen(imagesIn(c), c.model),
      );
      const [sent, ...more] = imageRequests(fake);
      assert.deepEqual(more, [], run.stdout + run.stderr);
      assert.equal(sent?.takesImages, true, JSON.stringify(sent));
      assert.equal(run.json?.result, imagesSeen(1, sent.model), run.stdout);
      assert.equal(run.json?.is_error, false);
    });
  },
});

Deno.test({
  name:
    "Claude Code reads a PDF with its Read tool, and a free model that cannot read files gets it with OpenRouter's free PDF parser",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      const run = await runClaudeReading(
        { fake, url },
        "doc.pdf",
        PDF_ONE_PAGE,
        "Summarise ./doc.pdf",
        (c) => `${filesIn(c)} file(s) for ${c.model}`,
      );
      const [sent, ...more] = fake.chatRequests().filter((r) =>
        filesIn(conversationOf(r.body)) > 0
      );
      assert.deepEqual(more, [], run.stdout + run.stderr);
      const body = sent?.body as { model: string; plugins?: unknown };
      assert.deepEqual(body?.plugins, [{
        id: "file-parser",
        pdf: { engine: "cloudflare-ai" },
      }]);
      assert.equal(run.json?.result, `1 file(s) for ${body.model}`, run.stdout);
      assert.equal(run.json?.is_error, false);
    });
  },
});

Deno.test({
  name:
    "Claude Code shows OpenRouter's 402 (the account's credits) as the error, after one upstream attempt, instead of a 502 after every model",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      scriptEveryModel(fake, () => insufficientCredits402());
      const run = await runClaude({
        baseUrl: url,
        prompt: "Say something.",
        timeoutSec: CLIENT_TIMEOUT_SEC,
        maxRetries: 0,
      });
      const detail = run.stdout + run.stderr;
      assert.equal(run.json?.is_error, true, detail);
      assert.match(String(run.json?.result), /Insufficient credits/, detail);
      assert.equal(fake.chatRequests().length, 1, detail);
    });
  },
});

Deno.test({
  name:
    "Claude Code keeps a session on the model that answered its first turn, and a new session in the same directory starts from the pool's first (conversation affinity on)",
  ignore: missing,
  async fn() {
    await checkSessionAffinity(
      (command) => ({
        name: "Bash",
        arguments: { command, description: "Print the e2e marker" },
      }),
      async (url, prompt, userDir) => {
        const run = await runClaude({
          baseUrl: url,
          prompt,
          userDir,
          timeoutSec: CLIENT_TIMEOUT_SEC,
          allowedTools: ["Bash"],
        });
        return { answer: run.json?.result, detail: run.stdout + run.stderr };
      },
    );
  },
});

Deno.test({
  name:
    "Claude Code compacts a session that outgrows every free model's context and goes on (it reads freerouter's 400 as its own 'Prompt is too long')",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      shrinkContexts(fake, 24_000);
      // Each model answers with the end of the last user message.
      scriptEveryModel(
        fake,
        (c) => answerText(c, `Noted: ${userText(c).trim().slice(-24)}`),
        30,
      );
      const userDir = await Deno.makeTempDir({ prefix: "freerouter-ptl-" });
      try {
        const turns = [
          ["Say hello.", "Say hello."],
          [`Note this: ${"alpha beta gamma ".repeat(800)}END-A`, "END-A"],
          [`Note this too: ${"one two three ".repeat(1200)}END-B`, "END-B"],
          [`And this: ${"red green blue ".repeat(1500)}END-C`, "END-C"],
        ];
        let sent = 0;
        for (const [i, [prompt, end]] of turns.entries()) {
          const run = await runClaude({
            baseUrl: url,
            prompt: prompt!,
            userDir,
            continueSession: i > 0,
            timeoutSec: CLIENT_TIMEOUT_SEC,
          });
          const requests = fake.chatRequests().length - sent;
          sent += requests;
          assert.equal(run.json?.is_error, false, run.stdout + run.stderr);
          assert.ok(run.json?.result?.endsWith(end!), run.stdout);
          // The last turn does not fit: freerouter refuses it without an
          // attempt, Claude Code summarises the session (a request of its
          // own) and asks again with the summary.
          if (i < 3) assert.equal(requests, 1, `turn ${i}: ${run.stdout}`);
          else assert.ok(requests >= 2, `turn ${i}: ${run.stdout}`);
        }
      } finally {
        await Deno.remove(userDir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name:
    "Claude Code in an outage of every free model: it waits out freerouter's first pause (Retry-After), retries once, and stops at the second failed round (x-should-retry: false), spending two rounds of attempts, not one per retry",
  ignore: missing,
  async fn() {
    await withStack(async ({ fake, url }) => {
      scriptOutage(fake, 20);
      const run = await runClaude({
        baseUrl: url,
        prompt: "Say hi",
        timeoutSec: CLIENT_TIMEOUT_SEC,
        maxRetries: 5,
      });
      assert.match(
        run.json?.result ?? "",
        /API Error: 502 All 3 attempts failed/,
        run.stdout + run.stderr,
      );
      assert.equal(run.json?.is_error, true);
      assert.equal(fake.chatRequests().length, 6, "two rounds of 3");
    }, { MAX_ATTEMPTS: "3" });
  },
});
