import { routes } from "../../../lib/sessions.js";

export const POST = routes.logout.post;
