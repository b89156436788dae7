import { routes } from "../../../lib/sessions.js";

export const runtime = "nodejs"; // sessionkit uses node:crypto and a server-side store
export const { POST } = routes.login;
