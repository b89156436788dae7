import { connect, createServer, type Socket } from "node:net";
/**
 * A TCP proxy whose hook sees every chunk (either way) before it is forwarded, in order, and
 * may hold it (await) or drop the connection.
 */
export async function interceptProxy(
  port: number,
  hook: (dir: "up" | "down", chunk: Buffer) => Promise<"pass" | "drop">,
) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: "127.0.0.1", port });
    sockets.add(client).add(upstream);
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", kill).on("close", kill);
    upstream.on("error", kill).on("close", kill);
    const pipe = (from: Socket, to: Socket, dir: "up" | "down") => {
      let chain = Promise.resolve();
      from.on("data", (chunk: Buffer) => {
        chain = chain.then(async () => {
          if ((await hook(dir, chunk)) === "drop") kill();
          else if (!to.destroyed) to.write(chunk);
        });
      });
    };
    pipe(client, upstream, "up");
    pipe(upstream, client, "down");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
