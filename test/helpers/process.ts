/** Collects unhandled rejections and exceptions until the returned function is called. */
export function watchProcess() {
  const seen: unknown[] = [];
  const onError = (error: unknown) => seen.push(error);
  process.on("unhandledRejection", onError);
  process.on("uncaughtException", onError);
  return () => {
    process.off("unhandledRejection", onError);
    process.off("uncaughtException", onError);
    return seen;
  };
}
