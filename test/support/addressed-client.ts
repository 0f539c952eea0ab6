import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestApp } from './app';
import { csrfFrom } from './app';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Makes the test app listen on every address (IPv4 and IPv6), so clients can connect from chosen local addresses. */
export async function listenEverywhere(t: TestApp): Promise<number> {
  const server = t.app.getHttpServer();
  if (!server.listening) await t.app.listen(0, '::');
  return (server.address() as AddressInfo).port;
}

/**
 * A browser-like client whose TCP connections come from a chosen local address: Linux routes all of
 * 127.0.0.0/8 and ::1 on loopback, so a connection from 127.0.0.2 really has that peer address, as a
 * proxy on another machine would. Keeps cookies, reads CSRF tokens, sends extra headers on every request.
 */
export class AddressedClient {
  private readonly cookies = new Map<string, string>();
  private token: string | null = null;

  constructor(
    private readonly port: number,
    readonly from: string,
    public headers: Record<string, string | string[]> = {},
    private readonly basePath = '',
  ) {}

  get(path: string, headers: Record<string, string | string[]> = {}): Promise<Answer> {
    return this.send('GET', path, null, headers);
  }

  /** Posts a form with the session's CSRF token (from the last page that had one), unless told not to. */
  post(path: string, fields: Record<string, string> = {}, options: { csrf?: boolean } = {}): Promise<Answer> {
    const body = new URLSearchParams(options.csrf === false || !this.token ? fields : { _csrf: this.token, ...fields }).toString();
    return this.send('POST', path, body, { 'content-type': 'application/x-www-form-urlencoded' });
  }

  private send(method: string, path: string, body: string | null, extra: Record<string, string | string[]>): Promise<Answer> {
    const ipv6 = this.from.includes(':');
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    return new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(
        {
          host: ipv6 ? '::1' : '127.0.0.1',
          family: ipv6 ? 6 : 4,
          port: this.port,
          localAddress: this.from,
          method,
          path: this.basePath + path,
          agent: false,
          headers: {
            ...this.headers,
            ...extra,
            ...(cookie ? { cookie } : {}),
            ...(body ? { 'content-length': Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            for (const line of res.headers['set-cookie'] ?? []) {
              const [pair, ...attributes] = line.split(';');
              const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
              const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
              if (expired) this.cookies.delete(name);
              else this.cookies.set(name, value);
            }
            const text = Buffer.concat(chunks).toString('utf8');
            const token = csrfFrom(text);
            if (token) this.token = token;
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }
}
