import { problem } from "../adapters/fetch.js";

export const MAX_BODY_BYTES = 16 * 1024;

export type JsonBody =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; response: Response };

/**
 * Reads a JSON object body: over 16 KiB is 413 (checked before and while reading), anything
 * but `application/json` is 415, unparsable JSON or a non-object is 400. Never throws.
 */
export async function readJsonObject(
  request: Request,
  options: { optional?: boolean } = {},
): Promise<JsonBody> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) return tooLarge();
  const type = request.headers.get("content-type");
  if (type === null && options.optional && (declared === null || declared === "0")) {
    return { ok: true, value: {} };
  }
  const mediaType = type?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    return { ok: false, response: problem(415, "unsupported_media_type", "Send application/json") };
  }
  let text: string;
  try {
    const read = await readCapped(request);
    if (read === null) return tooLarge();
    text = read;
  } catch {
    return { ok: false, response: problem(400, "bad_request", "Unreadable request body") };
  }
  if (text === "" && options.optional) return { ok: true, value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return { ok: true, value: value as Record<string, unknown> };
    }
  } catch {
    // fall through to the 400 below
  }
  return { ok: false, response: problem(400, "invalid_json", "The body must be a JSON object") };
}

async function readCapped(request: Request): Promise<string | null> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
}

function tooLarge(): JsonBody {
  return {
    ok: false,
    response: problem(413, "payload_too_large", `Bodies are limited to ${MAX_BODY_BYTES} bytes`),
  };
}
