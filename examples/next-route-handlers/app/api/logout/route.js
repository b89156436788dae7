import { routes } from "../../../lib/sessions.js";

export const runtime = "nodejs";
export const { POST } = routes.logout;
