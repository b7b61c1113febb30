/**
 * PDFs on every front: any free model takes them, since OpenRouter parses a
 * PDF for a model that cannot read one; freerouter asks for its free engine
 * (`cloudflare-ai`: unasked, OpenRouter parses with the paid `mistral-ocr`).
 * A model that reads files itself gets them as they are.
 */
import assert from "node:assert/strict";
import { postJson, rig } from "./_harness.ts";
import { catalogRow } from "./fake_openrouter/mod.ts";

const TEXT = "acme/text-only:free";
const READS_FILES = "acme/reads-files:free";
const PARSER = [{ id: "file-parser", pdf: { engine: "cloudflare-ai" } }];
const PDF = "data:application/pdf;base64,JVBERi0xLjQK";

function pdfRig() {
  return rig({
    rpm: 0,
    fakeOptions: {
      models: [
        catalogRow({ id: TEXT, context_length: 300_000 }),
        catalogRow({
          id: READS_FILES,
          context_length: 100_000,
          architecture: {
            modality: "text+file->text",
            input_modalities: ["text", "file"],
            output_modalities: ["text"],
            tokenizer: "Other",
            instruct_type: null,
          },
        }),
      ],
    },
  });
}

const fileMessage = (model: string) => ({
  model,
  messages: [{
    role: "user",
    content: [{ type: "text", text: "Sum it up" }, {
      type: "file",
      file: { filename: "report.pdf", file_data: PDF },
    }],
  }],
});

/** The bodies the fake OpenRouter got, in order. */
function sent(r: { fake: { chatRequests(): { body: unknown }[] } }) {
  return r.fake.chatRequests().map((c) =>
    c.body as { model: string; plugins?: unknown; messages: unknown[] }
  );
}

Deno.test("a chat request with a PDF goes to the top model, which cannot read files, with OpenRouter's free PDF parser; one that reads files gets it as it is", async () => {
  await using r = pdfRig();
  const res = await r.chat(fileMessage("auto"));
  assert.equal(res.status, 200, await res.clone().text());
  const named = await r.chat(fileMessage(READS_FILES));
  assert.equal(named.status, 200, await named.clone().text());
  const [first, second] = sent(r);
  assert.equal(first?.model, TEXT);
  assert.deepEqual(first?.plugins, PARSER);
  assert.equal(second?.model, READS_FILES);
  assert.equal(second?.plugins, undefined);
  assert.deepEqual(second?.messages, fileMessage("x").messages);
});

Deno.test("a PDF document on /v1/messages and an input_file on /v1/responses reach a model that cannot read files, with the free parser", async () => {
  await using r = pdfRig();
  const messages = await postJson(r, "/v1/messages", {
    model: "auto",
    max_tokens: 256,
    messages: [{
      role: "user",
      content: [{
        type: "document",
        title: "report.pdf",
        source: {
          type: "base64",
          media_type: "application/pdf",
          data: "JVBERi0xLjQK",
        },
      }, { type: "text", text: "Sum it up" }],
    }],
  });
  assert.equal(messages.status, 200, await messages.clone().text());
  const responses = await postJson(r, "/v1/responses", {
    model: "auto",
    input: [{
      role: "user",
      content: [
        { type: "input_file", filename: "report.pdf", file_data: PDF },
        { type: "input_text", text: "Sum it up" },
      ],
    }],
  });
  assert.equal(responses.status, 200, await responses.clone().text());
  for (const body of sent(r)) {
    assert.equal(body.model, TEXT);
    assert.deepEqual(body.plugins, PARSER);
    assert.match(JSON.stringify(body.messages), /"type":"file"/);
  }
  assert.equal(sent(r).length, 2);
});
