import { routes } from "../../../lib/sessions.js";

export const GET = routes.me.get;
