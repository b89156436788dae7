/**
 * One browser's cookies for one origin, as the model's clients keep them: `Set-Cookie` lines
 * are applied as a browser would (a `Max-Age=0` deletes, `Path` scopes what is sent), so that
 * whatever cookies the manager uses (binding cookies included) travel without the model
 * naming them.
 */
export class CookieJar {
  readonly #cookies = new Map<string, { value: string; path: string }>();

  apply(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      let path = "/";
      let remove = false;
      for (const attribute of attributes) {
        const [key = "", value = ""] = attribute.split("=");
        if (key.toLowerCase() === "path") path = value;
        if (key.toLowerCase() === "max-age" && Number(value) <= 0) remove = true;
      }
      if (remove) this.#cookies.delete(name);
      else this.#cookies.set(name, { value: pair.slice(eq + 1), path });
    }
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name)?.value;
  }

  set(name: string, value: string, path = "/"): void {
    this.#cookies.set(name, { value, path });
  }

  /** The `Cookie` header a browser would send to `path`. */
  header(path: string): string {
    const pairs: string[] = [];
    for (const [name, { value, path: scope }] of this.#cookies) {
      if (path === scope || path.startsWith(scope.endsWith("/") ? scope : `${scope}/`))
        pairs.push(`${name}=${value}`);
    }
    return pairs.join("; ");
  }

  clone(): CookieJar {
    const copy = new CookieJar();
    for (const [name, cookie] of this.#cookies) copy.#cookies.set(name, { ...cookie });
    return copy;
  }
}
