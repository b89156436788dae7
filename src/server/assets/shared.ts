/**
 * What the demo pages' scripts share. Each page has one module of its own; what only the
 * server knows (its strategies, settings, cookie names) comes in the page's `data-config`,
 * rendered by the server, so that no script repeats it.
 */

/** The page's settings, as the server rendered them into `<body data-config>`. */
export function pageConfig<T extends object>(): T {
  return JSON.parse(document.body.dataset.config ?? "{}") as T;
}

export function setText(id: string, text: string): void {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

/** The status line at the top of every page, read out by screen readers. */
export const say = (text: string) => setText("status", text);

export const messageOf = (error: unknown) =>
  error instanceof Error ? error.message : String(error);

/** A JSON body's request options. */
export const jsonRequest = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** The text fields of a form, by name. */
function fieldsOf(form: HTMLFormElement): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string") fields[name] = value;
  }
  return fields;
}

/** Runs `handler` with the fields of form `id` on submit (if the page has it); a failure is said. */
export function onSubmit(id: string, handler: (fields: Record<string, string>) => Promise<void>) {
  const form = document.getElementById(id);
  if (!(form instanceof HTMLFormElement)) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await handler(fieldsOf(form));
    } catch (error) {
      say(messageOf(error));
    }
  });
}

/** Runs `handler` on a click on any element matching `selector`; a failure is said. */
export function onClick(selector: string, handler: (el: HTMLElement) => Promise<void> | void) {
  for (const el of document.querySelectorAll<HTMLElement>(selector)) {
    el.addEventListener("click", async () => {
      try {
        await handler(el);
      } catch (error) {
        say(messageOf(error));
      }
    });
  }
}
