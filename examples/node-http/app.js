import { authenticateNode, sendSessionError, signIn, signOut } from "sessionkit/adapters/node";
import { checkPassword } from "../users.js";

/** Sign-in, a protected route and sign-out on plain node:http. */
export function createApp(manager) {
  const routes = {
    "POST /login": async (req, res) => {
      const body = await readJson(req);
      const userId = checkPassword(body.username, body.password);
      if (!userId) return json(res, 401, { error: "wrong username or password" });
      const session = await signIn(manager, req, res, { userId });
      json(res, 200, { userId: session.userId });
    },
    "GET /me": async (req, res) => {
      const session = await authenticateNode(manager, req, res); // answers 401/403/503 itself
      if (session) json(res, 200, { userId: session.userId });
    },
    "POST /logout": async (req, res) => {
      // Not required, but a cross-site request riding the cookie is refused here (403).
      await authenticateNode(manager, req, res, { required: false });
      if (res.headersSent) return;
      await signOut(manager, req, res);
      res.writeHead(204).end();
    },
  };
  return async (req, res) => {
    const route = routes[`${req.method} ${new URL(req.url, "http://x").pathname}`];
    if (!route) return json(res, 404, { error: "not found" });
    try {
      await route(req, res);
    } catch (error) {
      if (!sendSessionError(res, error)) json(res, 500, { error: "internal error" });
    }
  };
}

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readJson(req) {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 16_384) return {};
  }
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
