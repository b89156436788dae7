import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import { applyHeaders } from "../adapters/fetch.js";
import type { User } from "./users.js";

export type Env = { Bindings: Partial<HttpBindings> };

export const clientIp = (c: Context<Env>) => c.env?.incoming?.socket?.remoteAddress ?? null;

export const json = (body: unknown, status = 200, headers?: Headers) => {
  const response = Response.json(body, { status });
  return headers ? applyHeaders(response, headers) : response;
};

export const publicUser = (user: User) => ({ id: user.id, username: user.username });

export function sessionJson(session: {
  id: string;
  strategy: string;
  createdAt: Date;
  expiresAt: Date;
  authTime: Date;
}) {
  return {
    id: session.id,
    strategy: session.strategy,
    createdAt: session.createdAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    authTime: session.authTime.toISOString(),
  };
}
