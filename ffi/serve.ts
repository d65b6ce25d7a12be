/**
 * A minimal HTTP server on Deno (`Deno.serve`) or Bun (`Bun.serve`): the one place that knows
 * which one runs. Nothing is loaded or bound until {@link serveHttp} is called.
 * @module
 */
import { runtime } from "./syscalls.ts";

/** A running server. */
export interface HttpServer {
  /** The port it listens on (the one the kernel chose when asked for port 0). */
  readonly port: number;
  readonly hostname: string;
  /** Stops listening and closes open connections; idempotent. */
  close(): Promise<void>;
}

/** Options of {@link serveHttp}. */
export interface ServeOptions {
  /** Address to listen on, e.g. `"127.0.0.1"` or `"::1"`. */
  hostname: string;
  /** Port; 0 lets the kernel choose. */
  port: number;
  /** Answers one request. */
  handler: (req: Request) => Response | Promise<Response>;
}

interface DenoServe {
  serve(
    o: { hostname: string; port: number; onListen?: (a: { port: number }) => void },
    h: (r: Request) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}
interface BunServe {
  serve(
    o: { hostname: string; port: number; fetch: (r: Request) => Response | Promise<Response> },
  ): {
    port: number;
    stop(closeActive?: boolean): Promise<void> | void;
  };
}

/** Starts an HTTP server (Deno.serve or Bun.serve) and returns once it listens. */
export function serveHttp(options: ServeOptions): HttpServer {
  const { hostname, port, handler } = options;
  let closed: Promise<void> | undefined;
  if (runtime() === "deno") {
    const D = (globalThis as unknown as { Deno: DenoServe }).Deno;
    const s = D.serve({ hostname, port, onListen: () => {} }, handler);
    return { port: s.addr.port, hostname, close: () => (closed ??= s.shutdown()) };
  }
  const B = (globalThis as unknown as { Bun: BunServe }).Bun;
  const s = B.serve({ hostname, port, fetch: handler });
  return { port: s.port, hostname, close: () => (closed ??= Promise.resolve(s.stop(true))) };
}
