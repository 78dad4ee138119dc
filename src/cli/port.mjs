// @ts-check
// Port checks for `npm start`: whether PORT is free before any work is done (wrangler otherwise
// fails late, with a workerd kj::Exception after the migrations), and a free port for the debugger.
import { createServer } from "node:net";

/**
 * Tries to listen on host:port, then closes at once: `{ port }` (the port bound) when it is free, else
 * `{ error }`, the listen error's code (EADDRINUSE when something holds it, EACCES, EADDRNOTAVAIL…).
 * @param {number} port 0 for any free port
 * @param {string} host
 * @returns {Promise<{ error?: string, port: number }>}
 */
export function tryListen(port, host) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (/** @type {NodeJS.ErrnoException} */ err) => resolve({ error: err.code ?? err.message, port }));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : port;
      server.close(() => resolve({ port: bound }));
    });
  });
}

/**
 * The first free port after `port` on host (a suggestion to print), or undefined within `tries`.
 * @param {number} port
 * @param {string} host
 */
export async function nextFreePort(port, host, tries = 20) {
  for (let p = port + 1; p <= Math.min(port + tries, 65535); p++) {
    if (!(await tryListen(p, host)).error) return p;
  }
  return undefined;
}

/**
 * A port for wrangler's inspector: the usual 9229 when it is free (debuggers look there first), else
 * any free one, so a second `npm start` does not collide with the first.
 * @param {string} host
 */
export async function inspectorPort(host) {
  const usual = await tryListen(9229, host);
  if (!usual.error) return usual.port;
  const any = await tryListen(0, host);
  if (any.error) throw new Error(`no free port for the inspector on ${host}: ${any.error}`);
  return any.port;
}
