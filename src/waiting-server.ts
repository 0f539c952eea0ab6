import { createServer, Server } from 'node:http';
import { AppConfig } from './config/config';

export type WaitedService = 'PostgreSQL' | 'Redis';

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * While Certex waits at start for PostgreSQL or Redis, its port already answers: every request
 * gets 503 with Retry-After, a page saying what it is waiting for, and /health says "starting".
 * Closed (every connection too) just before the app itself listens on the port.
 */
export async function startWaitingServer(config: AppConfig, waitingFor: () => WaitedService): Promise<Server> {
  const healthPath = `${config.basePath}/health`;
  const frameAncestors = config.frameAncestors.join(' ');
  const server = createServer((req, res) => {
    const service = waitingFor();
    res.setHeader('Retry-After', '10');
    // No keep-alive: a client must not hold on to a connection of this server, which closes when the app takes the port.
    res.setHeader('Connection', 'close');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', `default-src 'none'; frame-ancestors ${frameAncestors}`);
    if (req.url?.split('?')[0] === healthPath) {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'starting', waitingFor: service }));
      return;
    }
    const heading = 'Certex is starting';
    const message =
      service === 'PostgreSQL'
        ? 'It cannot reach its database yet. This page will work as soon as the database is back: try again in a minute.'
        : 'It cannot reach its job queue (Redis) yet. This page will work as soon as Redis is back: try again in a minute.';
    res.writeHead(503, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>${heading} - Certex</title></head><body><main><h1>${heading}</h1><p>${escape(message)}</p>` +
        `<p><a href="${escape(sameSitePath(req.url, config.basePath))}">Try again</a></p></main></body></html>`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, () => resolve());
  });
  return server;
}

/** The requested path when it is one of ours (never a //host link), else the home page. */
function sameSitePath(url: string | undefined, basePath: string): string {
  return url && /^\/(?![/\\])/.test(url) ? url : `${basePath}/`;
}

export function closeWaitingServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
