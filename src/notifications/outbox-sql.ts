import { Sql, sql } from '../database/sql';

/**
 * The one statement that puts mail into the outbox, and the one place its text is made safe and
 * its HTML part rendered: rows come from a SELECT, are written set-based inside the caller's
 * transaction, and a row whose key exists already is skipped (writing the same message twice is a
 * no-op). Only OutboxService.write runs it.
 *
 * `source` is a SELECT giving the columns message_key, kind, to_address, to_name, subject,
 * body_text, certification_id, membership_id, staff_id. An address that is not one plain mailbox
 * is stored as 'failed' with the reason and never sent. The statement returns the inserted rows'
 * id, kind and state.
 */
export function insertOutboxSql(source: Sql, options: { state: 'pending' | 'kept'; domain: string }): Sql {
  const address = sql.raw('btrim(s.to_address)');
  const valid = plainAddressSql(address);
  const subject = sql`left(${headerTextSql(sql.raw('s.subject'))}, 998)`;
  return sql`
    insert into outbox (message_key, message_id, kind, to_address, to_name, subject, body_text, body_html, state, last_error,
                        certification_id, membership_id, staff_id)
    select s.message_key, ${messageIdSql(sql.raw('s.message_key'), options.domain)}, s.kind,
           case when ${valid} then ${address} else left(${headerTextSql(address)}, 254) end,
           nullif(left(${headerTextSql(sql.raw('s.to_name'))}, 200), ''),
           ${subject}, s.body_text, ${bodyHtmlSql(sql.raw('s.body_text'), subject)},
           case when ${valid} then ${options.state}::text else 'failed' end,
           case when ${valid} then null else ${INVALID_ADDRESS} end,
           s.certification_id, s.membership_id, s.staff_id
      from (${source}) s
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
 * (a raw `&`), so the address never ends inside an entity. Group 1 is the character before it
 * (the start of a word), group 2 the address.
 */
const ESCAPED_URL = sql.raw(`'(^|[^A-Za-z0-9_])(https{0,1}://([^[:space:]&<>"'']|&amp;)+([^[:space:]&<>"''.,;:!\\x3f)\\]]|&amp;))'`);

/**
 * The HTML part of a plain-text message: a small complete document, every character of the text
 * escaped, blank lines as paragraph breaks, single line breaks as <br>, web addresses as links.
 */
export function bodyHtmlSql(text: Sql, subject: Sql): Sql {
  const escape = (value: Sql) =>
    sql`replace(replace(replace(replace(replace(${value}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')`;
  const escaped = escape(sql`regexp_replace(${text}, '\\r\\n{0,1}', E'\\n', 'g')`);
  const linked = sql`regexp_replace(${escaped}, ${ESCAPED_URL}, '\\1<a href="\\2">\\2</a>', 'g')`;
  const paragraphs = sql`replace(regexp_replace(${linked}, E'\\n{2,}', '</p><p>', 'g'), E'\\n', '<br>')`;
  return sql`'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>' || ${escape(subject)}
    || '</title></head><body><p>' || ${paragraphs} || '</p></body></html>'`;
}
