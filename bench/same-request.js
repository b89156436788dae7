// Every server in a comparison is sent requests of the same size. A bare server needs no cookie
// or token, and a session server needs one of a size that depends on its kind (a 40-byte id
// cookie, a 300-byte JWT): sending each only what it reads made the bare baselines parse less
// than the servers measured against them. An `x-bench-pad` header, which nothing reads, makes up
// the difference, so that every request carries the same header bytes.

/** Header bytes (name, ": ", value, CRLF) that every request's own headers are padded to. */
export const HEADER_BUDGET = 768;

const PAD = "x-bench-pad";
const size = (headers) =>
  Object.entries(headers).reduce((n, [name, value]) => n + name.length + value.length + 4, 0);

/** `headers` plus a pad header that brings them to HEADER_BUDGET bytes. */
export function sameSize(headers) {
  const room = HEADER_BUDGET - size(headers) - PAD.length - 4;
  if (room < 1) {
    throw new Error(`a server's request headers (${size(headers)} bytes) exceed HEADER_BUDGET`);
  }
  return { ...headers, [PAD]: "p".repeat(room) };
}
