/** The token inspector: decode a JWT here, and have the server verify it. */
import { createSessionClient } from "./client/index.js";
import { jsonRequest, onSubmit, setText } from "./shared.js";

const client = createSessionClient();

/** One base64url part of a JWT, as the JSON it encodes (UTF-8). */
const decode = (part: string | undefined): unknown => {
  const binary = atob((part ?? "").replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(
    new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    ),
  );
};

type Verdict = { ok: true } | { ok: false; reason: string };
const verdict = (v: Verdict) => (v.ok ? "valid" : `refused: ${v.reason}`);

onSubmit("inspect-form", async () => {
  // The textarea's own value: a form's entry list would turn its line breaks into CRLF.
  const token = (document.querySelector<HTMLTextAreaElement>("#token")?.value ?? "").trim();
  const [header, claims] = token.split(".");
  try {
    setText("header", JSON.stringify(decode(header), null, 2));
    setText("claims", JSON.stringify(decode(claims), null, 2));
  } catch {
    setText("header", "not a JWT: three base64url parts of JSON expected");
    setText("claims", "");
  }
  const r = await client.fetch("/api/inspect", jsonRequest("POST", { token }));
  const result = (await r.json()) as { jwks: Verdict; server: Verdict };
  setText("verdict-jwks", verdict(result.jwks));
  setText("verdict-server", verdict(result.server));
});
