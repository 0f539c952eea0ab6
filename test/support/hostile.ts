import fc from 'fast-check';
import type { Pool } from 'pg';
import type { TestApp, TestClient } from './app';
import { createExceptionFixture } from './fixtures';

/**
 * Hostile input for property tests: every generated text carries MARKER, which must never come
 * back raw in a page (escaped as &lt;x-probe-123&gt; is fine).
 */
export const MARKER = '<x-probe-123>';

/** Form values and query parameters: a text, raw bytes (maybe not UTF-8), or a repeated key. */
export type HostileValue = string | Uint8Array | HostileValue[];
export type Pair = [key: string, value: string | Uint8Array];

const NASTY = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'",
  '"',
  '`',
  '{{',
  '}}',
  '{{{body}}}',
  '{{> error-summary}}',
  '{{#each this}}{{@key}}{{/each}}',
  '{{constructor.constructor "return process"}}',
  '{learner_first_name}',
  '{nope}',
  '\u0000',
  '\r\n',
  '\t',
  '\u0007\u001b[31m',
  '\u202e',
  '\ufeff',
  '\u200b',
  '\ud800',
  '%00',
  '%',
  '\\',
  '../../etc/passwd',
  "'; drop table learner; --",
  '$1',
  '?',
  ':id',
  ',',
  '\n,"',
  'NaN',
  '-1',
  '1e309',
  '9'.repeat(30),
  '0x1F',
  '١٢٣',
  '😀',
  'e\u0301',
  'null',
  '__proto__',
  'constructor',
  'toString',
];

/** Names that are properties of every plain object: a lookup `x in TABLE` must not take them for a key. */
export const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

const piece = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);

/** A text with the marker somewhere in it, among markup, quotes, handlebars, control characters and any unicode. */
export const hostileText: fc.Arbitrary<string> = fc
  .tuple(fc.array(piece, { maxLength: 3 }), fc.array(piece, { maxLength: 3 }))
  .map(([before, after]) => before.join('') + MARKER + after.join(''));

/** A very long text (far beyond every field's maximum, within the 200 kB form limit). */
export const longText: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('a', 'é', '😀', '<', '"', '{{', ' ', '\ufe0f', '\u2764\ufe0f'), fc.integer({ min: 300, max: 12_000 }))
  .map(([unit, count]) => MARKER + unit.repeat(count));

/** Numbers where a whole number in range is expected: negative, huge, floats, other notations. */
export const hostileNumber: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.constantFrom('-0', '0', '2147483648', '9007199254740993', '1e3', '0x10', ' 7 ', '7.0', '1,000', '+5', 'Infinity', ''),
);

/** Bytes that are usually not UTF-8, sent percent-encoded as they are. */
export const rawBytes: fc.Arbitrary<Uint8Array> = fc.uint8Array({ minLength: 1, maxLength: 24 });

/** A field's likely answers: a list, or an arbitrary (e.g. of page cursors). */
export type Plausible = readonly string[] | fc.Arbitrary<string>;

/** A field's value: one of its plausible answers, or something hostile, or several values at once. */
export function hostileValue(plausible: Plausible): fc.Arbitrary<HostileValue> {
  const likely = Array.isArray(plausible)
    ? plausible.length > 0
      ? fc.constantFrom(...plausible)
      : hostileText
    : (plausible as fc.Arbitrary<string>);
  const single = fc.oneof(
    { weight: 3, arbitrary: likely },
    { weight: 4, arbitrary: hostileText },
    { weight: 1, arbitrary: longText },
    { weight: 2, arbitrary: hostileNumber },
    { weight: 1, arbitrary: rawBytes },
    { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
  );
  return fc.oneof({ weight: 6, arbitrary: single }, { weight: 1, arbitrary: fc.array(single, { minLength: 2, maxLength: 3 }) });
}

/** Keys nobody expects: prototype names, bracket syntax, control characters, anything. */
export const extraKey: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(...PROTOTYPE_NAMES, 'id', 'staffId', 'role', 'q[]', 'a[b]', 'a.b', MARKER),
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 10 }),
  )
  .filter((key) => key !== '_csrf');

/**
 * A form or query: every named field present with a hostile or plausible value, or missing,
 * plus up to three extra fields.
 */
export function hostileFields(fields: Record<string, Plausible>): fc.Arbitrary<Pair[]> {
  const named = Object.entries(fields).map(([key, plausible]) =>
    fc.option(hostileValue(plausible), { freq: 6 }).map((value) => (value === null ? [] : pairsOf(key, value))),
  );
  const extras = fc.array(fc.tuple(extraKey, hostileValue([])), { maxLength: 3 }).map((list) => list.flatMap(([k, v]) => pairsOf(k, v)));
  return fc.tuple(fc.tuple(...named), extras).map(([lists, extra]) => [...lists.flat(), ...extra]);
}

function pairsOf(key: string, value: HostileValue): Pair[] {
  return Array.isArray(value) ? value.flatMap((v) => pairsOf(key, v)) : [[key, value]];
}

/** Percent-encodes text as UTF-8 (a lone surrogate becomes U+FFFD) or bytes exactly as given. */
export function percentEncode(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  let out = '';
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** `a=1&a=2&b=…`, for a form body or a query string. */
export function encodePairs(pairs: Pair[]): string {
  return pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
}

/** A CSV file for an upload: some of the columns (maybe an unknown one), rows of plausible and hostile cells, or raw bytes. */
export function hostileCsv(columns: Record<string, readonly string[]>): fc.Arbitrary<Buffer> {
  const names = Object.keys(columns);
  const cell = (plausible: readonly string[]) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...plausible) },
      { weight: 2, arbitrary: hostileText },
      { weight: 1, arbitrary: hostileNumber },
    );
  const quoted = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const table = fc
    .tuple(fc.shuffledSubarray(names, { minLength: 1 }), fc.option(fc.constantFrom('extra', MARKER), { freq: 4 }))
    .chain(([header, unknown]) =>
      fc
        .array(fc.tuple(...header.map((name) => cell(columns[name]))), { maxLength: 4 })
        .map((rows) => [unknown ? [...header, unknown] : header, ...rows.map((row) => (unknown ? [...row, 'x'] : row))]),
    )
    .map((rows) => Buffer.from(rows.map((row) => row.map(quoted).join(',')).join('\n'), 'utf8'));
  return fc.oneof({ weight: 5, arbitrary: table }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) });
}

/** True when the HTML holds the marker unescaped. */
export function reflectsMarker(res: { headers: Record<string, string>; text?: string }): boolean {
  return /html/.test(res.headers['content-type'] ?? '') && (res.text ?? '').includes(MARKER);
}

/** A page that refused the request: an error status, or a form shown again with its error summary. */
export function refused(res: { status: number; text?: string }): boolean {
  return res.status >= 400 || (res.text ?? '').includes('app-error-summary');
}

/** The rows every id-bearing route names, arranged once per app. */
export interface HostileData {
  certification: number;
  learner: number;
  /** A learner that is a member of the audience. */
  member: number;
  audience: number;
  course: number;
  courseSet: number;
  assignment: number;
  staff: number;
  outbox: number;
  bulkAction: number;
  /** The open exception of `learner`. */
  exception: number;
  /** A bulk action draft of ada's, not confirmed. */
  token: string;
  /** A checked audience member upload of ada's for `audience`, waiting for its Save. */
  upload: string;
  /** An exemption of `learner` in force. */
  exemption: number;
  kind: string;
}

/**
 * A certification with content, an assignment, open exceptions and messages; learners (one with a
 * completion), an audience with members, courses, a failed message in the outbox, a bulk action
 * and a draft. The bulk action and the draft are made through the app as ada would make them.
 */
export async function arrangeHostileData(t: TestApp, admin: TestClient): Promise<HostileData> {
  const db: Pool = t.db;
  const q = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows[0];
  const fixture = await createExceptionFixture(db, { counts: { time_allowance: 3, duplicate_course: 2, unknown: 1 }, prefix: 'HF' });
  const certification = fixture.certificationId;
  const { rows: learners } = await db.query(`select learner_id as id from membership where certification_id = $1 order by learner_id`, [
    certification,
  ]);
  const [learner, member] = [learners[0].id, learners[1].id];
  const course = (await q(`insert into course (short_name, full_name) values ('HF101', 'Hostile forms course') returning id`)).id;
  await q(`insert into course (short_name, full_name) values ('HF102', 'Second course')`);
  const courseSet = (
    await q(
      `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Set one', 'all') returning id`,
      [certification],
    )
  ).id;
  await q(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [courseSet, course]);
  await q(
    `insert into course_completion (learner_id, course_id, completed_at, source) values ($1, $2, now() - interval '3 days', 'admin')`,
    [learner, course],
  );
  const audience = (await q(`insert into audience (name, description) values ('Hostile audience', 'Night shift') returning id`)).id;
  await q(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [audience, member]);
  const assignment = (
    await q(`insert into assignment (certification_id, kind, learner_id, due_rule) values ($1, 'learner', $2, 'none') returning id`, [
      certification,
      learner,
    ])
  ).id;
  const staff = await t.createStaff('sam', 'viewer', undefined, 'Sam Staff');
  const outbox = (
    await q(
      `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, body_html, state, attempts, last_error)
       values ('hf-1', '<hf-1@certex>', 'learner', 'hf@example.org', 'Hello', 'Hi', '<p>Hi</p>', 'failed', 5, 'refused') returning id`,
    )
  ).id;

  const base = `/certifications/${certification}/exceptions`;
  await admin.get(base);
  const draftFor = async (action: string) => {
    const res = await admin.post(`${base}/bulk`, { select: 'unknown', action, reason: 'arranged' });
    const match = /\/confirm\/([0-9a-f-]{36})/.exec(res.headers.location ?? '');
    if (res.status !== 303 || !match) throw new Error(`could not arrange a bulk action draft: ${res.status}`);
    return match[1];
  };
  const confirmed = await admin.post(`${base}/confirm/${await draftFor('dismiss')}`);
  const bulkAction = Number(/\/admin\/bulk-actions\/(\d+)/.exec(confirmed.headers.location ?? '')?.[1]);
  if (!bulkAction) throw new Error(`could not arrange a bulk action: ${confirmed.status}`);
  const token = await draftFor('do_not_assign');
  // The Messages tab adds a certification's default messages when first opened.
  await admin.get(`/certifications/${certification}/messages`);
  const exception = (await q(`select id from exception where learner_id = $1`, [learner])).id;
  const uploadPath = `/audiences/${audience}/upload`;
  const uploadToken = /name="_csrf" value="([^"]+)"/.exec((await admin.get(uploadPath)).text)![1];
  const learnerIdNumber = (await q(`select id_number from learner where id = $1`, [learner])).id_number;
  const uploaded = await admin.agent
    .post(`${admin.path(uploadPath)}?_csrf=${encodeURIComponent(uploadToken)}`)
    .attach('file', Buffer.from(`id_number\n${learnerIdNumber}\n`), { filename: 'members.csv', contentType: 'text/csv' });
  const upload = /\/upload\/([0-9a-f-]{36})$/.exec(uploaded.headers.location ?? '')?.[1];
  if (!upload) throw new Error(`could not arrange a pending member upload: ${uploaded.status}`);
  // Only the row: the learner's membership and open exception stay as the other forms need them.
  const exemption = (
    await q(`insert into exemption (certification_id, learner_id, reason) values ($1, $2, 'Arranged') returning id`, [
      certification,
      learner,
    ])
  ).id;
  return {
    upload,
    certification,
    learner,
    member,
    audience,
    course,
    courseSet,
    assignment,
    staff,
    outbox,
    bulkAction,
    exception,
    token,
    exemption,
    kind: 'due_soon',
  };
}

/** Which arranged row a path parameter names: :id depends on the part of the site. */
export function arrangedParam(data: HostileData, name: string, path: string): string | number | undefined {
  if (name === 'id') {
    if (path.startsWith('/certifications/')) return data.certification;
    if (path.startsWith('/learners/')) return data.learner;
    if (path.startsWith('/audiences/')) return data.audience;
    if (path.startsWith('/courses/')) return data.course;
    if (path.startsWith('/admin/staff/')) return data.staff;
    if (path.startsWith('/admin/mail/')) return data.outbox;
    if (path.startsWith('/admin/bulk-actions/')) return data.bulkAction;
    return undefined;
  }
  if (name === 'learnerId') return data.member;
  if (name === 'exceptionId') return data.exception;
  if (name === 'token' && path.startsWith('/audiences/')) return data.upload;
  if (name === 'exemptionId') return data.exemption;
  return { setId: data.courseSet, assignmentId: data.assignment, token: data.token, kind: data.kind }[name];
}
