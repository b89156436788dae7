import { configError } from "../errors.js";

/**
 * Whether `error` is the failure to find the package `name` itself (not one of its own
 * dependencies, nor a native binding that did not build: those stay real errors).
 */
export function isMissingPackage(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    String((error as Error).message).includes(`'${name}'`)
  );
}

/**
 * Imports an optional peer dependency. A missing one is a one-line `CONFIG_INVALID` saying what
 * to install, instead of Node's `ERR_MODULE_NOT_FOUND` with a stack of our file names.
 * `load` is the caller's own `() => import("name")`, a literal specifier that bundlers see.
 */
export async function importPeer<T>(
  load: () => Promise<T>,
  name: string,
  neededBy: string,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissingPackage(error, name)) {
      throw configError(`${neededBy} needs the ${name} package: npm install ${name}`);
    }
    throw error;
  }
}
