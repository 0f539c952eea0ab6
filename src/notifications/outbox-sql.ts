import { Sql, sql } from '../database/sql';

/**
 * The one statement that puts mail into the outbox, and the one place its text is made safe: rows
 * come from a SELECT, are written set-based inside the caller's transaction, and a row whose key
 * exists already is skipped (writing the same message twice is a no-op). Only OutboxService.write
 * runs it. The HTML part is not stored: outboxHtmlSql renders it from the stored columns.
 *
 * `source` is a SELECT giving the columns message_key, kind, to_address, to_name, subject,
 * body_text, certification_id, membership_id, staff_id. An address that is not one plain mailbox
 * is stored as 'failed' with the reason and never sent. The statement returns the inserted rows'
 * id, kind and state.
 */
export function insertOutboxSql(source: Sql, options: { state: 'pending' | 'kept'; domain: string }): Sql {
  const address = sql.raw('btrim(s.to_address)');
  const subject = sql.raw('x.subject');
  // The address check and the cleaned subject are worked out once per row (x), not per column.
  return sql`
    insert into outbox (message_key, message_id, kind, to_address, to_name, subject, body_text, state, last_error,
                        certification_id, membership_id, staff_id)
    select s.message_key, ${messageIdSql(sql.raw('s.message_key'), options.domain)}, s.kind,
           case when x.valid then ${address} else left(${headerTextSql(address)}, 254) end,
           nullif(left(${headerTextSql(sql.raw('s.to_name'))}, 200), ''),
           ${subject}, s.body_text,
           case when x.valid then ${options.state}::text else 'failed' end,
           case when x.valid then null else ${INVALID_ADDRESS} end,
           s.certification_id, s.membership_id, s.staff_id
      from (${source}) s
     cross join lateral (select ${plainAddressSql(address)} as valid,
                                left(${headerTextSql(sql.raw('s.subject'))}, 998) as subject offset 0) x
    on conflict (message_key) do nothing
    returning id::text as id, kind, state`;
}

export const INVALID_ADDRESS = 'Not sent: the address is not a single valid email address.';

/** A stable Message-ID per key: `<first 32 hex digits of sha256(key)@domain>`, as messageIdFor() in mail-text.ts. */
function messageIdSql(key: Sql, domain: string): Sql {
  return sql`'<' || left(encode(sha256(convert_to(${key}, 'UTF8')), 'hex'), 32) || '@' || ${domain}::text || '>'`;
}

/** Text for a mail header: every line break and other control character a space, trimmed (as headerText() in mail-text.ts). */
function headerTextSql(text: Sql): Sql {
  return sql`btrim(regexp_replace(regexp_replace(${text}, '[\\x01-\\x1f\\x7f\\u0085\\u2028\\u2029]+', ' ', 'g'), ' {2,}', ' ', 'g'))`;
}

// The patterns below hold no "?": the driver would take it for a parameter (hence \x3f and {0,1}).

/** One plain mailbox (local@domain), never a list or anything else: the rule of isPlainAddress() in mail-text.ts. */
function plainAddressSql(address: Sql): Sql {
  return sql`(length(${address}) <= 254 and ${address} ~ ${sql.raw(
    "'^[A-Za-z0-9.!#$%&''*+/=\\x3f^_`{|}~-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9]){0,1}(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9]){0,1})*$'",
  )})`;
}

/**
 * A web address in text that is already HTML-escaped: http(s)://, then characters up to a space
 * or quote, the last not a punctuation mark that ends a sentence. `&amp;` counts as one character
 * (a raw `&`), so the address never ends inside an entity. It starts a word: the character before
 * it, if any, is not a letter, digit or _: a lookbehind, so that the whole match is the address
 * and no group is captured, which PostgreSQL matches several times faster. `(?<!` and `(?:` are
 * spelled with chr(63), a constant the planner folds, since the driver takes "?" for a parameter.
 */
const ESCAPED_URL = sql.raw(
  `('(' || chr(63) || '<![A-Za-z0-9_])https{0,1}://(' || chr(63) || ':[^[:space:]&<>"'']|&amp;)+(' || chr(63) ||
   ':[^[:space:]&<>"''.,;:!\\x3f)\\]]|&amp;)')`,
);

/**
 * The HTML part of the outbox row `alias` as it is sent and shown: the stored HTML of a row written
 * before Migration20261130130000, else rendered from the row's subject and plain text, which is
 * exactly what was stored then.
 */
export function outboxHtmlSql(alias: string): Sql {
  return sql`coalesce(${sql.raw(alias)}.body_html, ${bodyHtmlSql(sql.raw(`${alias}.body_text`), sql.raw(`${alias}.subject`))})`;
}

/**
 * The HTML part of a plain-text message: a small complete document, every character of the text
 * escaped, blank lines as paragraph breaks, single line breaks as <br>, web addresses as links.
 */
export function bodyHtmlSql(text: Sql, subject: Sql): Sql {
  const escape = (value: Sql) =>
    sql`replace(replace(replace(replace(replace(${value}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')`;
  const escaped = escape(sql`regexp_replace(${text}, '\\r\\n{0,1}', E'\\n', 'g')`);
  const linked = sql`regexp_replace(${escaped}, ${ESCAPED_URL}, '<a href="\\&">\\&</a>', 'g')`;
  const paragraphs = sql`replace(regexp_replace(${linked}, E'\\n{2,}', '</p><p>', 'g'), E'\\n', '<br>')`;
  return sql`'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>' || ${escape(subject)}
    || '</title></head><body><p>' || ${paragraphs} || '</p></body></html>'`;
}
