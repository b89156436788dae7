import { Agent, request } from "node:http";

export interface Answer {
  /** null: no HTTP answer (refused, reset, timed out). */
  status: number | null;
  /** The parsed JSON body, if any. */
  json: Record<string, unknown> | null;
  /** The problem `code` of an error body, or the network error's code. */
  code?: string;
  headers: Record<string, string | string[] | undefined>;
  /** No answer: whether the request went down a keep-alive socket used before. */
  reused?: boolean;
}

/**
 * One server instance as the clients see it: its URL and a keep-alive agent. A restarted
 * process gets a fresh agent, so that no request of the new generation is sent down a socket
 * of the dead one (which would fail for the client's reasons, not the server's).
 */
export class Endpoint {
  #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  constructor(
    public url: string,
    readonly origin: string,
    readonly timeoutMs = 10_000,
  ) {}

  renew(url: string): void {
    this.#agent.destroy();
    this.#agent = new Agent({ keepAlive: true, maxSockets: 64 });
    this.url = url;
  }

  close(): void {
    this.#agent.destroy();
  }

  /**
   * A GET that fails with ECONNRESET on a reused keep-alive socket is sent again once, on a
   * new one, as browsers do: the server may close an idle socket just as a request goes down
   * it (a race of the transport, not an answer of the server). Nothing else is retried.
   */
  async send(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<Answer> {
    const first = await this.#sendOnce(method, path, options);
    if (method === "GET" && first.status === null && first.code === "ECONNRESET" && first.reused) {
      return this.#sendOnce(method, path, options);
    }
    return first;
  }

  #sendOnce(method: string, path: string, options: { token?: string; body?: unknown }) {
    const headers: Record<string, string> = { origin: this.origin };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    return new Promise<Answer>((resolve) => {
      const req = request(
        `${this.url}${path}`,
        { method, headers, agent: this.#agent, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (e) => resolve(failed(e)));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: Record<string, unknown> | null = null;
            try {
              json = text ? (JSON.parse(text) as Record<string, unknown>) : null;
            } catch {
              json = null;
            }
            const status = res.statusCode ?? null;
            const code = typeof json?.code === "string" ? json.code : undefined;
            resolve({ status, json, headers: res.headers, ...(code ? { code } : {}) });
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
      );
      req.on("error", (e) => resolve({ ...failed(e), reused: req.reusedSocket }));
      req.end(payload);
    });
  }
}

const failed = (error: Error): Answer => ({
  status: null,
  json: null,
  code: (error as { code?: string }).code ?? error.message,
  headers: {},
});
