/** The token inspector: decode a JWT here, and have the server verify it. */
import { createSessionClient } from "./client/index.js";
import { jsonRequest, onClick, onSubmit, say, setText } from "./shared.js";

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

/** The NumericDate claims (seconds since 1970) shown as dates, with what each means. */
const DATE_CLAIMS: Array<[string, string]> = [
  ["iat", "issued at"],
  ["nbf", "not before"],
  ["exp", "expires"],
  ["auth_time", "signed in (auth_time)"],
  ["created", "session created"],
  ["aexp", "session's absolute end (aexp)"],
];

/** "in 4 min" or "3 min ago", from now. */
function relative(ms: number): string {
  const s = Math.round((ms - Date.now()) / 1000);
  const size = Math.abs(s);
  const amount =
    size < 120
      ? `${size} s`
      : size < 7200
        ? `${Math.round(size / 60)} min`
        : `${Math.round(size / 3600)} h`;
  return s >= 0 ? `in ${amount}` : `${amount} ago`;
}

function showDates(claims: unknown) {
  const list = document.getElementById("dates");
  if (!list) return;
  const items: HTMLElement[] = [];
  const record = (claims ?? {}) as Record<string, unknown>;
  for (const [name, meaning] of DATE_CLAIMS) {
    const value = record[name];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const at = new Date(value * 1000);
    if (Number.isNaN(at.getTime())) continue;
    const dt = document.createElement("dt");
    dt.textContent = `${name}: ${meaning}`;
    const dd = document.createElement("dd");
    dd.id = `date-${name}`;
    const t = document.createElement("time");
    t.dateTime = at.toISOString();
    t.textContent = at.toLocaleString();
    dd.append(t, ` (${relative(at.getTime())}; ${at.toISOString()})`);
    items.push(dt, dd);
  }
  list.replaceChildren(...items);
}

async function inspect(token: string) {
  const [header, claims] = token.split(".");
  let decoded: unknown = null;
  try {
    setText("header", JSON.stringify(decode(header), null, 2));
    decoded = decode(claims);
    setText("claims", JSON.stringify(decoded, null, 2));
  } catch {
    setText("header", "not a JWT: three base64url parts of JSON expected");
    setText("claims", "");
  }
  showDates(decoded);
  const r = await client.fetch("/api/inspect", jsonRequest("POST", { token }));
  const result = (await r.json()) as {
    jwks: Verdict;
    server: Verdict;
    session: { live: boolean | null };
  };
  setText("verdict-jwks", verdict(result.jwks));
  setText("verdict-server", verdict(result.server));
  const live = result.session.live;
  setText(
    "verdict-live",
    live === null
      ? "not checked: only a token this server signed names a session it can look up"
      : live
        ? "live: the store still holds this session"
        : "not live: the session was signed out or revoked, whatever the signature says",
  );
}

onSubmit("inspect-form", async () => {
  // The textarea's own value: a form's entry list would turn its line breaks into CRLF.
  await inspect((document.querySelector<HTMLTextAreaElement>("#token")?.value ?? "").trim());
});

onClick("#use-mine", async () => {
  const r = await fetch("/api/inspect/my-token", { credentials: "same-origin" });
  const answer = (await r.json()) as { token?: string; strategy?: string; title?: string };
  if (!r.ok || !answer.token) {
    say(answer.title ?? `HTTP ${r.status}`);
    return;
  }
  const area = document.querySelector<HTMLTextAreaElement>("#token");
  if (area) area.value = answer.token;
  say(`Your current ${answer.strategy} access token, from its HttpOnly cookie.`);
  await inspect(answer.token);
});
