"use server";
// Server actions: they may set cookies, through next/headers' cookies().
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { signOutAction } from "sessionkit/adapters/next";
import { sessions } from "./sessions.js";

export async function signOutNow() {
  await signOutAction(sessions, await headers(), await cookies());
  redirect("/login");
}
