// Type-checked by build_npm.ts as a NodeNext consumer of the installed
// package (never run): the published .d.ts files must resolve and describe
// the API as the library documents it.
import {
  buildFreePool,
  type ChatCompletionChunk,
  createHandler,
  FreeRouterClient,
  FreeRouterError,
  type FreeRouterHandler,
  FreeRouterState,
  type KvLike,
  type RoutedCompletion,
  UpstreamHTTPError,
} from "freerouter";

/** A message type declared as an interface, as SDKs declare theirs (no index signature). */
interface SdkMessage {
  role: "user" | "assistant";
  content: string;
  name?: string;
}

export async function smoke(kv: KvLike): Promise<string> {
  const state = new FreeRouterState({ kv });
  const client = new FreeRouterClient({ apiKey: "k", state, maxAttempts: 2 });
  const handler: FreeRouterHandler = createHandler({ state });
  // As the README writes it: a variable that may be unset goes in as it is.
  const fromEnv = createHandler({
    apiKey: process.env.OPENROUTER_API_KEY,
    baseUrl: process.env.OPENROUTER_BASE_URL,
    state,
  });
  await fromEnv.close();
  const maybe: AbortSignal | undefined = undefined;
  for await (const _ of client.streamRaw({ messages: [] }, { signal: maybe })) {
    break;
  }
  const response: Response = await handler(new Request("http://x/health"));
  const completion: RoutedCompletion = await client.chat([
    { role: "user", content: "Hi" },
  ], { temperature: 0 });
  const history: readonly SdkMessage[] = [{ role: "user", content: "Hi" }];
  await client.chat(history);
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of client.stream([{ role: "user", content: "Hi" }])) {
    chunks.push(chunk);
  }
  try {
    await client.models();
  } catch (err) {
    if (err instanceof FreeRouterError) return err.code;
    if (err instanceof UpstreamHTTPError) return err.body;
  }
  await client.close();
  await handler.close();
  await state.close();
  return `${response.status} ${completion.freerouter.model} ${chunks.length} ${
    buildFreePool([]).length
  }`;
}
