import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { OutboxService } from '../../src/notifications/outbox.service';
import { MailRelayService } from '../../src/notifications/mail-relay.service';

/** Admin › Mail log, on an app with no SMTP server: mail is kept, not sent, and shown here. */
describe('the mail log', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;

  beforeAll(async () => {
    t = await startTestApp({ MAIL_FROM: 'Certex <certex@log.example.org>' });
    expect(t.config.smtpUrl).toBeNull();
    await t.createStaff('ada', 'admin');
    await t.createStaff('vic', 'viewer');
    admin = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
  });

  afterAll(async () => {
    await t?.close();
  });

  function enqueue(messages: Parameters<OutboxService['enqueue']>[1]) {
    const outbox = t.app.get(OutboxService);
    return t.inContext(() =>
      (t.app.get(MikroORM).em.fork() as EntityManager).transactional((em: EntityManager) => outbox.enqueue(em, messages)),
    );
  }

  /** The page's main text with < and > decoded, as a reader sees it. */
  const pageText = (html: string) => mainText(html).replace(/&lt;/g, '<').replace(/&gt;/g, '>');

  const idOf = async (key: string): Promise<string> => (await t.db.query('select id from outbox where message_key = $1', [key])).rows[0].id;

  it('says so when there is no mail yet, with the page rules kept', async () => {
    const res = await admin.get('/admin/mail');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<title>Mail log – Certex</title>');
    expect(res.text.match(/<h1[\s>]/g)).toHaveLength(1);
    expect(pageText(res.text)).toContain('No email has been written yet.');
    expect(res.text).not.toContain('<table');
  });

  it('keeps mail without an SMTP server, never sends it, and lists it newest first', async () => {
    expect(
      await enqueue([
        {
          key: 'log:kept:1',
          kind: 'enrolment',
          toAddress: 'ada@learners.example.org',
          toName: 'Ada Lovelace',
          subject: 'You are enrolled',
          text: 'Welcome, Ada.',
        },
        {
          key: 'log:kept:2',
          kind: 'admin-notice',
          toAddress: 'grace@staff.example.org',
          subject: 'Exceptions require attention',
          text: 'Three new exceptions.',
        },
      ]),
    ).toBe(2);
    const rows = (await t.db.query(`select message_key, state, attempts from outbox where message_key like 'log:kept:%' order by 1`)).rows;
    expect(rows).toEqual([
      { message_key: 'log:kept:1', state: 'kept', attempts: 0 },
      { message_key: 'log:kept:2', state: 'kept', attempts: 0 },
    ]);
    // No relay transport: a drain sends nothing and changes nothing.
    expect(await t.app.get(MailRelayService).drain()).toEqual({ sent: 0, retrying: 0, failed: 0 });

    const res = await admin.get('/admin/mail');
    const text = pageText(res.text);
    expect(res.text).toMatch(/<caption[^>]*>Messages, newest first<\/caption>/);
    expect(res.text).toContain('<th scope="col" class="app-table__header">Subject</th>');
    expect(res.text).toContain('<th scope="row"');
    expect(text).toContain('You are enrolled Ada Lovelace <ada@learners.example.org> Kept, not sent 0');
    expect(text).toContain('log:kept:1');
    expect(text.indexOf('log:kept:2')).toBeLessThan(text.indexOf('log:kept:1'));
    expect(text).toContain('Kept, not sent (2)');
  });

  it('filters by state and searches address, subject and key, with a sentence when nothing matches', async () => {
    await t.db.query(
      `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, body_html, state, attempts, last_error)
       values ('log:failed:1', '<f1@log.example.org>', 'enrolment', 'turing@learners.example.org', 'Due soon', 'x', '<p>x</p>', 'failed', 8, '550 5.1.1 Mailbox unavailable'),
              ('log:sent:1', '<s1@log.example.org>', 'overdue', 'hopper@learners.example.org', 'Overdue', 'y', '<p>y</p>', 'sent', 1, null)`,
    );
    const failed = pageText((await admin.get('/admin/mail?state=failed')).text);
    expect(failed).toContain('Messages failed');
    expect(failed).toContain('turing@learners.example.org Failed 8 550 5.1.1 Mailbox unavailable');
    expect(failed).not.toContain('hopper@');
    expect(failed).not.toContain('ada@');

    expect(pageText((await admin.get('/admin/mail?q=HOPPER')).text)).toMatch(/hopper@learners\.example\.org.*Sent/);
    const bySubject = pageText((await admin.get('/admin/mail?q=enrolled')).text);
    expect(bySubject).toContain('ada@learners.example.org');
    expect(bySubject).not.toContain('grace@');
    const byKey = pageText((await admin.get('/admin/mail?q=log:kept:2')).text);
    expect(byKey).toContain('grace@staff.example.org');
    expect(byKey).not.toContain('ada@');
    // LIKE wildcards in the search are literal characters.
    expect(pageText((await admin.get('/admin/mail?q=%25')).text)).toContain('No message matches your search and filter.');
    const none = await admin.get('/admin/mail?state=sending');
    expect(pageText(none.text)).toContain('No message matches your search and filter.');
    expect(none.text).toContain('<option value="sending" selected>');
  });

  it('pages by keyset, 50 at a time, newest first, every message once', async () => {
    await t.db.query(
      `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, body_html, state, created_at)
       select 'log:page:' || lpad(i::text, 3, '0'), '<p' || i || '@log.example.org>', 'bulk', 'p' || i || '@learners.example.org',
              'Page test ' || lpad(i::text, 3, '0'), 't', '<p>t</p>', 'kept', now() + make_interval(secs => i)
         from generate_series(1, 120) i`,
    );
    const seen: string[] = [];
    let path: string | null = '/admin/mail?q=page%20test';
    let pages = 0;
    while (path) {
      const res = await admin.get(path);
      seen.push(...[...res.text.matchAll(/Page test (\d{3})/g)].map((m) => m[1]));
      const next = /<a class="app-pagination__link" href="([^"]+)" rel="next">/.exec(res.text);
      path = next ? next[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=') : null;
      pages++;
      if (path) expect(path).toContain('q=page+test');
      if (pages > 5)
        throw new Error(`still paging at ${path}: ${seen.join(',')}\n${/<nav class="app-pagination[\s\S]*?<\/nav>/.exec(res.text)?.[0]}`);
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => String(120 - i).padStart(3, '0')));
    // And back from the last page.
    const last = await admin.get('/admin/mail?q=page%20test&page=last');
    expect([...last.text.matchAll(/Page test (\d{3})/g)].map((m) => m[1])).toEqual(seen.slice(70));
  });

  it('shows one message as its recipient reads it, never rendering markup from it', async () => {
    await t.db.query(
      `insert into outbox (message_key, message_id, kind, to_address, to_name, subject, body_text, body_html, state)
       values ('log:markup', '<m1@log.example.org>', 'test', 'ada@learners.example.org', 'Ada', 'Hello <i>Ada</i>',
               E'Line one\nLine <b>two</b>', '<p>Hi</p><script>alert(1)</script><img src=x onerror=alert(2)>', 'kept')`,
    );
    const id = await idOf('log:markup');
    const res = await viewer.get(`/admin/mail/${id}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<title>Hello &lt;i&gt;Ada&lt;/i&gt; – Mail log – Certex</title>');
    expect(res.text).not.toContain('<script>alert(1)');
    expect(res.text).not.toContain('<img src=x');
    expect(res.text).not.toContain('<b>two</b>');
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const text = pageText(res.text);
    expect(text).toContain('From Certex <certex@log.example.org>');
    expect(text).toContain('To Ada <ada@learners.example.org>');
    expect(text).toContain('Message-ID <m1@log.example.org>');
    expect(text).toContain('Kept, not sent');
    expect(res.text).toMatch(/data-mail-part="text">Line one\nLine &lt;b&gt;two&lt;\/b&gt;<\/div>/);
    expect(res.text.match(/<h1[\s>]/g)).toHaveLength(1);

    expect((await admin.get('/admin/mail/999999')).status).toBe(404);
  });

  it('shows the HTML part of a message written without it as the relay renders it when sending', async () => {
    await enqueue([
      { key: 'log:rendered', kind: 'test', toAddress: 'ada@learners.example.org', subject: 'Rendered', text: 'One & two\n\nThree' },
    ]);
    const id = await idOf('log:rendered');
    expect((await t.db.query('select body_html from outbox where id = $1', [id])).rows[0].body_html).toBeNull();
    const res = await viewer.get(`/admin/mail/${id}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(
      'data-mail-part="html">&lt;!DOCTYPE html&gt;&lt;html lang&#x3D;&quot;en&quot;&gt;&lt;head&gt;&lt;meta charset&#x3D;&quot;utf-8&quot;&gt;' +
        '&lt;title&gt;Rendered&lt;/title&gt;&lt;/head&gt;&lt;body&gt;&lt;p&gt;One &amp;amp; two&lt;/p&gt;&lt;p&gt;Three&lt;/p&gt;&lt;/body&gt;&lt;/html&gt;</div>',
    );
  });

  it('lets an administrator retry a failed message (kept here, as there is no SMTP server), and a viewer not', async () => {
    const id = await idOf('log:failed:1');
    const asViewer = await viewer.get(`/admin/mail/${id}`);
    expect(asViewer.status).toBe(200);
    expect(asViewer.text).not.toContain('/retry"');
    expect((await viewer.post(`/admin/mail/${id}/retry`)).status).toBe(403);
    expect((await t.db.query('select state, attempts from outbox where id = $1', [id])).rows[0]).toEqual({ state: 'failed', attempts: 8 });

    const page = await admin.get(`/admin/mail/${id}`);
    expect(page.text).toContain(`<form method="post" action="/admin/mail/${id}/retry" novalidate>`);
    const res = await admin.post(`/admin/mail/${id}/retry`);
    expect(res.status).toBe(303);
    expect((await t.db.query('select state, attempts from outbox where id = $1', [id])).rows[0]).toEqual({ state: 'kept', attempts: 0 });
    const after = await admin.get(`/admin/mail/${id}`);
    expect(pageText(after.text)).toContain('The message to turing@learners.example.org will be sent again');
    expect(after.text).not.toContain('/retry"');
  });

  it('counts each state up to 10,000 and says "more than" beyond, exact below', async () => {
    await t.db.query(
      `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, state)
       select 'log:many:' || i, '<m' || i || '@log.example.org>', 'bulk', 'm' || i || '@learners.example.org', 'Many', 't', 'sent'
         from generate_series(1, 10001) i`,
    );
    const kept = (await t.db.query(`select count(*)::int as n from outbox where state = 'kept'`)).rows[0].n;
    const text = pageText((await admin.get('/admin/mail')).text);
    expect(text).toContain('More than 10,000 messages in all.');
    expect(text).toContain('Sent (more than 10,000)');
    expect(text).toContain(`Kept, not sent (${kept})`);

    await t.db.query(`delete from outbox where id in (
       select id from outbox where message_key like 'log:many:%' limit (select count(*) - 10000 from outbox where state = 'sent'))`);
    const atLimit = pageText((await admin.get('/admin/mail')).text);
    expect(atLimit).toContain('Sent (10,000)');
    expect(atLimit).toContain(`${(10000 + kept).toLocaleString('en-GB')} messages in all.`);
  });
});
