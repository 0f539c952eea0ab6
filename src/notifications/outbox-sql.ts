import type { AppConfig } from '../config/config';
import { mailDomain } from './mail-text';

/**
 * SQL for writing outbox rows set-based, inside the caller's transaction. Kept in one place so
 * that it can move into OutboxService later.
 *
 * `source` is a SELECT giving the columns message_key, kind, to_address, to_name, subject,
 * body_text, certification_id, membership_id, staff_id. Each row becomes one outbox row, unless a
 * row with its key exists already (ON CONFLICT DO NOTHING: writing the same message twice is a
 * no-op). Its one parameter, first, is newOutboxState(config). An address that is not one plain
 * mailbox is stored as 'failed' with the reason and never sent (as OutboxService does). The
 * statement returns the inserted rows' id and kind.
 */
export function insertOutboxSql(source: string, config: Pick<AppConfig, 'mailFrom'>): string {
  return `
    insert into outbox (message_key, message_id, kind, to_address, to_name, subject, body_text, body_html, state, last_error,
                        certification_id, membership_id, staff_id)
    select s.message_key, ${messageIdSql('s.message_key', mailDomain(config.mailFrom))}, s.kind, s.to_address,
           ${headerTextSql('s.to_name')}, ${headerTextSql('s.subject')}, s.body_text, ${bodyHtmlSql('s.body_text')},
           case when ${PLAIN_ADDRESS_SQL('s.to_address')} then s.state else 'failed' end,
           case when ${PLAIN_ADDRESS_SQL('s.to_address')} then null else 'Not a plain email address: never sent' end,
           s.certification_id, s.membership_id, s.staff_id
      from (select src.*, ?::text as state from (${source}) src) s
    on conflict (message_key) do nothing
    returning id, kind`;
}

/** The state new rows get: kept (shown in the mail log, never sent) when there is no SMTP server. */
export function newOutboxState(config: Pick<AppConfig, 'smtpUrl'>): 'pending' | 'kept' {
  return config.smtpUrl ? 'pending' : 'kept';
}

/** A stable Message-ID per key, the same as messageIdFor() in mail-text.ts. */
export function messageIdSql(keyExpr: string, domain: string): string {
  // mailDomain() only ever returns letters, digits, dots and hyphens.
  return `'<' || left(encode(sha256(convert_to(${keyExpr}, 'UTF8')), 'hex'), 32) || '@${domain}>'`;
}

/** Text for a mail header: every line break and other control character a space, trimmed (as headerText() in mail-text.ts). */
export function headerTextSql(expr: string): string {
  return `btrim(regexp_replace(regexp_replace(${expr}, '[\\x01-\\x1f\\x7f\\u0085\\u2028\\u2029]+', ' ', 'g'), ' {2,}', ' ', 'g'))`;
}

/** One plain mailbox (local@domain), never a list or anything else: the rule of isPlainAddress() in mail-text.ts. */
// No "?" in it: the query builder would take it for a parameter (hence \x3f and {0,1}).
const PLAIN_ADDRESS_SQL = (expr: string) =>
  `(length(${expr}) <= 254 and ${expr} ~ '^[A-Za-z0-9.!#$%&''*+/=\\x3f^_\`{|}~-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9]){0,1}(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9]){0,1})*$')`;

/** The plain-text body as HTML: escaped, blank lines as paragraphs, line breaks kept. */
export function bodyHtmlSql(expr: string): string {
  const escaped = `replace(replace(replace(replace(replace(replace(${expr}, E'\\r\\n', E'\\n'), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')`;
  const paragraphs = `replace(regexp_replace(${escaped}, E'\\n{2,}', '</p><p>', 'g'), E'\\n', '<br>')`;
  return `'<!doctype html><html><body><p>' || ${paragraphs} || '</p></body></html>'`;
}
