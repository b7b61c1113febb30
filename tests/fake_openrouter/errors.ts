/**
 * OpenRouter's other error answers, as steps: bad requests, keys, credits,
 * missing endpoints, provider errors, and errors inside a 200.
 *
 * Errors are `{"error": {"message", "code", "metadata"?}}` with the HTTP
 * status equal to `error.code`; an error raised once a model has started
 * comes in a 200 body instead
 * (https://openrouter.ai/docs/api/reference/errors-and-debugging). The
 * messages are the ones OpenRouter has been seen to send.
 *
 * @module
 */
import { providerFor, stripFree, USER_ID } from "./common.ts";
import { errorStep, type ResponseStep } from "./steps.ts";

/** 400 with a plain message. */
export function badRequest400(message: string): ResponseStep {
  return errorStep(400, { error: { message, code: 400 } });
}

/**
 * 400 for a request longer than the model's context, in OpenRouter's words
 * ("This endpoint's maximum context length is …", with the prompt tokens it
 * counted). `errorType` adds the newer `metadata.error_type` (older bodies
 * lack it).
 */
export function contextLength400(
  context: number,
  prompt = context - 100,
  output = 1024,
  errorType = false,
): ResponseStep {
  const message =
    `This endpoint's maximum context length is ${context} tokens. However, you requested about ${
      prompt + output
    } tokens (${prompt} of text input, ${output} in the output). Please reduce the length of either one, or use the "middle-out" transform to compress your prompt automatically.`;
  return errorStep(400, {
    error: {
      message,
      code: 400,
      ...(errorType
        ? { metadata: { error_type: "context_length_exceeded" } }
        : {}),
    },
    user_id: USER_ID,
  });
}

/** 400 `"<id> is not a valid model ID"`. */
export function invalidModel400(model: string): ResponseStep {
  return badRequest400(`${model} is not a valid model ID`);
}

/** 400 for a `models` array longer than 3. */
export function modelsArrayTooLong400(): ResponseStep {
  return badRequest400("'models' array must have 3 items or fewer.");
}

/** 401 for a bad/revoked key. */
export function userNotFound401(): ResponseStep {
  return errorStep(401, { error: { message: "User not found.", code: 401 } });
}

/** 401 for a missing key. */
export function noAuth401(): ResponseStep {
  return errorStep(401, {
    error: { message: "No auth credentials found", code: 401 },
  });
}

/** Provider-side 401 ("Provider returned error" with `raw` authentication_error). */
export function provider401(model: string, provider?: string): ResponseStep {
  return errorStep(401, {
    error: {
      message: "Provider returned error",
      code: 401,
      metadata: {
        raw: JSON.stringify({
          type: "error",
          error: {
            type: "authentication_error",
            message: "invalid x-api-key",
          },
        }),
        provider_name: provider ?? providerFor(model),
        is_byok: false,
      },
    },
    user_id: USER_ID,
  });
}

/** 402 for an account that never purchased credits. */
export function insufficientCredits402(): ResponseStep {
  return errorStep(402, {
    error: {
      message:
        "Insufficient credits. This account never purchased credits. Make sure your key is on the correct account or org, and if so, purchase more at https://openrouter.ai/settings/credits",
      code: 402,
    },
  });
}

/** 404 "No endpoints found that support tool use". */
export function noToolEndpoints404(): ResponseStep {
  return errorStep(404, {
    error: { message: "No endpoints found that support tool use", code: 404 },
  });
}

/** 404 "No endpoints found for <model>." */
export function noEndpoints404(model: string): ResponseStep {
  return errorStep(404, {
    error: {
      message: `No endpoints found for ${stripFree(model)}.`,
      code: 404,
    },
  });
}

/** 404 from the account's privacy settings. */
export function dataPolicy404(): ResponseStep {
  return errorStep(404, {
    error: {
      message:
        "No endpoints found matching your data policy. Check your settings: https://openrouter.ai/settings/privacy",
      code: 404,
    },
  });
}

/** 404 when a free promo ended (`free_variant_ended`; `fallback_models` holds the paid slug). */
export function freeVariantEnded404(model: string): ResponseStep {
  const paid = stripFree(model);
  return errorStep(404, {
    error: {
      message:
        `${model} is unavailable for free. The paid version is available now - use this slug instead: ${paid}`,
      code: 404,
      availability: {
        code: "free_variant_ended",
        retryable: false,
        requested_models: [model],
        fallback_models: [paid],
        docs_url: "https://openrouter.ai/docs/errors#free_variant_ended",
      },
    },
  });
}

/** 502 "Provider returned error" with the captured Google-style `raw`. */
export function providerError502(
  model: string,
  provider?: string,
): ResponseStep {
  return errorStep(502, {
    error: {
      message: "Provider returned error",
      code: 502,
      metadata: {
        raw:
          '{\n  "error": {\n    "code": 500,\n    "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",\n    "status": "INTERNAL"\n  }\n}\n',
        provider_name: provider ?? providerFor(model),
        is_byok: false,
        provider_error_code: "500",
      },
    },
  });
}

/**
 * HTTP 200 whose body is only a top-level error (no `choices`): a provider
 * overloaded after the request was accepted.
 */
export function overloadedIn200(): ResponseStep {
  return errorStep(200, {
    id: "gen-1",
    error: {
      message: "Upstream error from Nvidia: Service temporarily overloaded",
      code: 503,
      metadata: { error_type: "provider_overloaded" },
    },
  });
}

/** HTTP 200 with partial content and `finish_reason: "error"` (the documented variant). */
export function errorIn200WithChoices(): ResponseStep {
  return errorStep(200, {
    choices: [{
      message: { role: "assistant", content: "partial output..." },
      finish_reason: "error",
      error: {
        code: 502,
        message: "Provider disconnected mid-stream",
        metadata: { error_type: "provider_unavailable" },
      },
    }],
  });
}

/** An availability error (`error.availability`, docs: errors-and-debugging) with its HTTP status. */
export function availabilityError(
  status: number,
  model: string,
  code: string,
  opts: { retryAfterS?: number; message?: string } = {},
): ResponseStep {
  return errorStep(
    status,
    {
      error: {
        message: opts.message ?? `${model}: ${code}`,
        code: status,
        availability: {
          code,
          retryable: opts.retryAfterS !== undefined,
          ...(opts.retryAfterS !== undefined
            ? { retry_after: opts.retryAfterS }
            : {}),
          requested_models: [model],
          docs_url: `https://openrouter.ai/docs/errors#${code}`,
        },
      },
    },
    opts.retryAfterS === undefined
      ? undefined
      : { "Retry-After": String(opts.retryAfterS) },
  );
}

/** 402 a provider sends (names it in `metadata.provider_name`): that model only. */
export function providerCredits402(model: string): ResponseStep {
  return errorStep(402, {
    error: {
      message: "Provider returned error",
      code: 402,
      metadata: {
        raw: "Payment required for this endpoint",
        provider_name: providerFor(model),
      },
    },
    user_id: USER_ID,
  });
}

/** 403 from the key's guardrail: `metadata.patterns` names what matched. */
export function guardrail403(): ResponseStep {
  return errorStep(403, {
    error: {
      message: "Request blocked: prompt injection patterns detected",
      code: 403,
      metadata: { patterns: ["ignore previous instructions"] },
    },
  });
}

/** 403 from a provider's moderation, flagging the request's input. */
export function moderation403(model: string): ResponseStep {
  return errorStep(403, {
    error: {
      message: `${model} requires moderation on ${
        providerFor(model)
      }. Your input was flagged for "violence".`,
      code: 403,
      metadata: {
        reasons: ["violence"],
        flagged_input: "how do I...",
        provider_name: providerFor(model),
        model_slug: stripFree(model),
      },
    },
  });
}

/** 404 "No endpoints found that support the provided 'tool_choice' value". */
export function toolChoice404(): ResponseStep {
  return errorStep(404, {
    error: {
      message:
        "No endpoints found that support the provided 'tool_choice' value",
      code: 404,
    },
  });
}

/** 404 "No endpoints found that support the requested output modalities: …". */
export function outputModalities404(): ResponseStep {
  return errorStep(404, {
    error: {
      message:
        "No endpoints found that support the requested output modalities: image, text",
      code: 404,
    },
  });
}
