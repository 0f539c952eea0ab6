/** Builds an app URL under BASE_PATH. Every link, redirect and email URL goes through here. */
export class UrlBuilder {
  constructor(
    readonly basePath: string,
    /** Scheme, host and port people reach Certex at (PUBLIC_URL), for links in emails. */
    readonly publicOrigin = 'http://localhost:3000',
  ) {}

  /** An absolute URL, for emails. */
  absolute(...parts: Array<string | number>): string {
    return this.publicOrigin + this.to(...parts);
  }

  to(...parts: Array<string | number>): string {
    const path = parts.map(String).join('');
    return this.basePath + (path.startsWith('/') ? path : '/' + path);
  }

  /** A path with a query string, leaving out empty values. */
  withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    return this.to(path) + (qs ? '?' + qs : '');
  }

  /** Whether a "next" value is a local path of this app (never another site). */
  isLocal(candidate: unknown): candidate is string {
    return (
      typeof candidate === 'string' &&
      candidate.startsWith(this.basePath + '/') &&
      !candidate.startsWith('//') &&
      !candidate.includes('\\') &&
      !/[\r\n]/.test(candidate)
    );
  }
}
