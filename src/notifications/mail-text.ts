import { createHash } from 'node:crypto';

/**
 * Pure helpers for the text that goes into an email. Data never reaches a header with a line
 * break in it (the HTML part is rendered where the outbox writes it: outbox-sql.ts).
 */

/** Text for a header (subject, display name): every line break and other control character becomes a space. */
export function headerText(value: string | null | undefined, maxLength = 998): string {
  return (
    (value ?? '')
      // Control characters are what this removes.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, ' ')
      .replace(/ {2,}/g, ' ')
      .trim()
      .slice(0, maxLength)
  );
}

/** The domain of the From address, for Message-IDs: `Certex <certex@example.org>` → `example.org`. */
export function mailDomain(mailFrom: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(mailFrom.trim());
  return match ? match[1].toLowerCase() : 'certex';
}

/** The Message-ID of the message with this key: the same every time it is sent. */
export function messageIdFor(key: string, domain: string): string {
  return `<${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}@${domain}>`;
}

/**
 * Whether an address is one plain mailbox (local@domain), so that it can never be read as several
 * recipients or carry anything into the To header.
 */
export function isPlainAddress(address: string): boolean {
  return (
    address.length <= 254 &&
    /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      address,
    )
  );
}

/** The first attempt is number 1; after a failed attempt n the next one waits base × 2^(n−1), at most `max`. */
export function backoffSeconds(failedAttempts: number, baseSeconds = 30, maxSeconds = 6 * 60 * 60): number {
  return Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, failedAttempts - 1));
}

/** An error as one line for the mail log: the SMTP server's answer when there is one. */
export function errorText(error: unknown): string {
  const e = error as { response?: string; message?: string; code?: string } | null;
  const text = e?.response || e?.message || String(error);
  const code = e?.code && !text.includes(e.code) ? ` (${e.code})` : '';
  return headerText(text + code, 1000);
}
