import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 in front of a real service, so that a test can cut the network
 * (every connection dropped, new ones refused at once) and restore it, without stopping the
 * service that other tests share. `blackhole` is the silent partition: nothing is forwarded
 * either way and no socket is closed, so neither end notices anything until its own deadline.
 */
export async function tcpProxy(targetPort: number, targetHost = "127.0.0.1") {
  const sockets = new Set<Socket>();
  let cut = false;
  let blackholed = false;
  const pairs = new Set<[Socket, Socket]>();
  // Closes that happened during a blackhole: passed on when it is restored.
  const held = new Set<() => void>();
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: targetHost, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      if (blackholed && !cut) {
        held.add(drop);
        return;
      }
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    if (blackholed) return; // paused until `restore`
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    /** Drops every open connection and refuses new ones until `restore`. */
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    /**
     * Stops forwarding both ways, for open connections and new ones (accepted, then silent),
     * and keeps every socket open: bytes and closes wait in the proxy until `restore`.
     */
    blackhole() {
      blackholed = true;
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    /**
     * Ends a cut or a blackhole. After a blackhole the held connections resume, as after a
     * partition that heals: what was held is delivered in order, then the closes that happened
     * meanwhile are passed on.
     */
    restore() {
      cut = false;
      if (!blackholed) return;
      blackholed = false;
      for (const [a, b] of pairs) {
        a.pipe(b);
        b.pipe(a);
      }
      const closes = [...held];
      held.clear();
      // After the held bytes have been handed on.
      setImmediate(() => {
        for (const close of closes) close();
      });
    },
    async close() {
      this.cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
