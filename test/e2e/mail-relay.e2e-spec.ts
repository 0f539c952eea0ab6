import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { startSmtpServer, TestSmtpServer } from '../support/smtp';
import { OutboxMessage, OutboxService } from '../../src/notifications/outbox.service';
import { MailRelayService } from '../../src/notifications/mail-relay.service';
import { messageIdFor } from '../../src/notifications/mail-text';
import { MAIL_MAX_ATTEMPTS } from '../../src/notifications/mail-relay.constants';

/** The outbox and its relay against a real SMTP server: what arrives, when, and how often. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the outbox relay', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let outbox: OutboxService;
  let relay: MailRelayService;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Certex <certex@certex.example.org>' });
    outbox = t.app.get(OutboxService);
    relay = t.app.get(MailRelayService);
  });

  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  beforeEach(() => {
    smtp.answer = () => 'accept';
  });

  function message(key: string, extra: Partial<OutboxMessage> = {}): OutboxMessage {
    return {
      key,
      kind: 'test',
      toAddress: `${key.replace(/[^a-z0-9]/gi, '-')}@learners.example.org`,
      toName: 'Ada Lovelace',
      subject: `Subject of ${key}`,
      text: `Hello Ada,\n\nThis is ${key}.`,
      ...extra,
    };
  }

  /** Enqueues in a transaction of its own, as a feature would alongside its change. */
  function enqueue(messages: OutboxMessage[]): Promise<number> {
    return t.inContext(() =>
      (t.app.get(MikroORM).em.fork() as EntityManager).transactional((em: EntityManager) => outbox.enqueue(em, messages)),
    );
  }

  async function row(key: string) {
    return (await t.db.query('select * from outbox where message_key = $1', [key])).rows[0];
  }

  async function waitForRow(key: string, check: (r: any) => boolean, what: string, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await row(key);
      if (r && check(r)) return r;
      if (Date.now() > deadline) throw new Error(`outbox row ${key} never ${what}: ${JSON.stringify(r)}`);
      await sleep(50);
    }
  }

  const receivedFor = (key: string) => smtp.received.filter((m) => m.messageId === messageIdFor(key, 'certex.example.org'));

  it('delivers messages enqueued in a transaction, with the Message-ID of their key and both a text and an HTML part', async () => {
    const added = await enqueue([
      message('relay:one', { text: 'Dear Ada,\n\nYour link: https://certex.example.org/certifications/1\n\n<b>not bold</b> & done' }),
      message('relay:two'),
    ]);
    expect(added).toBe(2);
    // No drain call here: the commit itself wakes the relay.
    await smtp.waitFor(
      () => receivedFor('relay:one').length === 1 && receivedFor('relay:two').length === 1,
      15000,
      'relay:one and relay:two',
    );

    const [mail] = receivedFor('relay:one');
    expect(mail.messageId).toMatch(/^<[0-9a-f]{32}@certex\.example\.org>$/);
    expect(mail.from).toBe('"Certex" <certex@certex.example.org>');
    expect(mail.to).toBe('"Ada Lovelace" <relay-one@learners.example.org>');
    expect(mail.rcptTo).toEqual(['relay-one@learners.example.org']);
    expect(mail.subject).toBe('Subject of relay:one');
    expect(mail.text.trim()).toBe('Dear Ada,\n\nYour link: https://certex.example.org/certifications/1\n\n<b>not bold</b> & done');
    expect(mail.html).toContain('&lt;b&gt;not bold&lt;/b&gt; &amp; done');
    expect(mail.html).not.toContain('<b>');
    expect(mail.html).toContain('<a href="https://certex.example.org/certifications/1">');
    // Rendered when sent from the stored subject and text, byte for byte what was stored before.
    expect(mail.html).toBe(
      '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Subject of relay:one</title></head><body>' +
        '<p>Dear Ada,</p><p>Your link: <a href="https://certex.example.org/certifications/1">https://certex.example.org/certifications/1</a>' +
        '</p><p>&lt;b&gt;not bold&lt;/b&gt; &amp; done</p></body></html>',
    );
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');

    const stored = await waitForRow('relay:one', (r) => r.state === 'sent', 'marked sent');
    expect(stored.body_html).toBeNull();
    expect(stored.message_id).toBe(mail.messageId);
    expect(stored.attempts).toBe(1);
    expect(stored.sent_at).not.toBeNull();
    expect(stored.locked_until).toBeNull();
  });

  it('sends a message stored with its HTML part (written before the HTML was rendered when sent) with that HTML', async () => {
    await t.db.query(
      `insert into outbox (message_key, message_id, kind, to_address, to_name, subject, body_text, body_html, state)
       values ('relay:stored-html', $1, 'test', 'stored-html@learners.example.org', 'Ada', 'Stored', 'Plain text', $2, 'pending')`,
      [messageIdFor('relay:stored-html', 'certex.example.org'), '<p>The HTML as it was stored</p>'],
    );
    await relay.drain();
    await smtp.waitFor(() => receivedFor('relay:stored-html').length === 1, 15000, 'relay:stored-html');
    const [mail] = receivedFor('relay:stored-html');
    expect(mail.html).toBe('<p>The HTML as it was stored</p>');
    expect(mail.text.trim()).toBe('Plain text');
  });

  it('wakes the relay only once the transaction has committed, and not at all after a rollback', async () => {
    const wake = jest.spyOn(outbox, 'wake');
    try {
      await t.inContext(() =>
        (t.app.get(MikroORM).em.fork() as EntityManager).transactional(async (em: EntityManager) => {
          // A savepoint inside the transaction: its release is not the commit either.
          await em.transactional(async (inner: EntityManager) => outbox.enqueue(inner, [message('relay:wake')]));
          await sleep(50);
          expect(wake).not.toHaveBeenCalled();
        }),
      );
      // The wake-up follows the commit on a later turn: waited for, however loaded the machine.
      for (const giveUpAt = Date.now() + 10_000; wake.mock.calls.length === 0 && Date.now() < giveUpAt;) await sleep(10);
      expect(wake).toHaveBeenCalledTimes(1);
      wake.mockClear();
      await expect(
        t.inContext(() =>
          (t.app.get(MikroORM).em.fork() as EntityManager).transactional(async (em: EntityManager) => {
            await outbox.enqueue(em, [message('relay:wake-rolled-back')]);
            throw new Error('roll back');
          }),
        ),
      ).rejects.toThrow('roll back');
      await sleep(50);
      expect(wake).not.toHaveBeenCalled();
    } finally {
      wake.mockRestore();
    }
    await smtp.waitFor(() => receivedFor('relay:wake').length === 1, 15000, 'relay:wake');
  });

  it('sends nothing for a transaction that rolls back', async () => {
    await expect(
      t.inContext(() =>
        (t.app.get(MikroORM).em.fork() as EntityManager).transactional(async (em: EntityManager) => {
          await outbox.enqueue(em, [message('relay:rolled-back')]);
          // The row is there inside the transaction...
          const inside = await em
            .getConnection()
            .execute(
              `select count(*)::int as n from outbox where message_key = 'relay:rolled-back'`,
              [],
              'all',
              em.getTransactionContext(),
            );
          expect(inside[0].n).toBe(1);
          throw new Error('the change failed');
        }),
      ),
    ).rejects.toThrow('the change failed');
    // ...and a committed one sent afterwards arrives while the rolled-back one never does.
    await enqueue([message('relay:after-rollback')]);
    await smtp.waitFor(() => receivedFor('relay:after-rollback').length === 1, 15000, 'relay:after-rollback');
    await relay.drain();
    expect(await row('relay:rolled-back')).toBeUndefined();
    expect(receivedFor('relay:rolled-back')).toHaveLength(0);
  });

  it('writes and sends the same key once, within one call and across transactions', async () => {
    expect(await enqueue([message('relay:twice'), message('relay:twice', { subject: 'A second version' })])).toBe(1);
    expect(await enqueue([message('relay:twice', { subject: 'A third version' })])).toBe(0);
    await smtp.waitFor(() => receivedFor('relay:twice').length === 1, 15000, 'relay:twice');
    await relay.drain();
    await sleep(300);
    expect(receivedFor('relay:twice')).toHaveLength(1);
    expect(receivedFor('relay:twice')[0].subject).toBe('Subject of relay:twice');
    expect((await t.db.query(`select count(*)::int as n from outbox where message_key = 'relay:twice'`)).rows[0].n).toBe(1);
  });

  it('retries after a 4xx answer, with backoff, and then delivers with the same Message-ID', async () => {
    const id = messageIdFor('relay:4xx', 'certex.example.org');
    smtp.answer = (mail) =>
      mail.messageId === id && smtp.rejected.filter((m) => m.messageId === id).length === 0
        ? { code: 451, message: '4.3.0 Try again later' }
        : 'accept';
    await enqueue([message('relay:4xx')]);
    const waiting = await waitForRow('relay:4xx', (r) => r.state === 'pending' && r.attempts === 1, 'back to pending after the 451');
    expect(waiting.last_error).toContain('451 4.3.0 Try again later');
    const waitSeconds = (waiting.next_attempt_at.getTime() - Date.now()) / 1000;
    expect(waitSeconds).toBeGreaterThan(20);
    expect(waitSeconds).toBeLessThanOrEqual(31);
    expect(receivedFor('relay:4xx')).toHaveLength(0);

    // Not before its time...
    await relay.drain();
    expect((await row('relay:4xx')).attempts).toBe(1);
    // ...and once it is due, it goes out.
    await t.db.query(`update outbox set next_attempt_at = now() where message_key = 'relay:4xx'`);
    await relay.drain();
    const sent = await waitForRow('relay:4xx', (r) => r.state === 'sent', 'sent');
    expect(sent.attempts).toBe(2);
    expect(receivedFor('relay:4xx')).toHaveLength(1);
    expect(smtp.rejected.filter((m) => m.messageId === id)).toHaveLength(1);
  });

  it('gives up after the attempt limit on a permanent 5xx, shows it failed in the mail log, and Retry sends it once the server accepts', async () => {
    const id = messageIdFor('relay:5xx', 'certex.example.org');
    smtp.answer = (mail) => (mail.messageId === id ? { code: 550, message: '5.1.1 Mailbox unavailable' } : 'accept');
    await enqueue([message('relay:5xx')]);
    const waits: number[] = [];
    for (let attempt = 1; attempt <= MAIL_MAX_ATTEMPTS; attempt++) {
      const r = await waitForRow('relay:5xx', (x) => x.attempts === attempt && x.state !== 'sending', `through attempt ${attempt}`);
      if (attempt < MAIL_MAX_ATTEMPTS) {
        expect(r.state).toBe('pending');
        waits.push(Math.round((r.next_attempt_at.getTime() - Date.now()) / 1000));
        await t.db.query(`update outbox set next_attempt_at = now() where message_key = 'relay:5xx'`);
        await relay.drain();
      } else {
        expect(r.state).toBe('failed');
        expect(r.last_error).toContain('550 5.1.1 Mailbox unavailable');
      }
    }
    // The wait doubles after each failure: 30 s, 60 s, 120 s, ...
    for (let i = 1; i < waits.length; i++) expect(waits[i] / waits[i - 1]).toBeGreaterThan(1.8);
    await relay.drain();
    expect(smtp.rejected.filter((m) => m.messageId === id)).toHaveLength(MAIL_MAX_ATTEMPTS);
    expect(receivedFor('relay:5xx')).toHaveLength(0);

    await t.createStaff('ada', 'admin');
    await t.createStaff('vic', 'viewer');
    const admin: TestClient = await t.signedIn('ada');
    const viewer: TestClient = await t.signedIn('vic');
    const log = await admin.get('/admin/mail?state=failed');
    expect(log.status).toBe(200);
    const text = mainText(log.text);
    expect(text).toContain('Subject of relay:5xx');
    expect(text).toContain('550 5.1.1 Mailbox unavailable');
    expect(text).toContain(`Failed ${MAIL_MAX_ATTEMPTS}`);

    const dbId = (await row('relay:5xx')).id;
    const page = await admin.get(`/admin/mail/${dbId}`);
    expect(page.text).toContain(`action="/admin/mail/${dbId}/retry"`);
    expect((await viewer.get(`/admin/mail/${dbId}`)).text).not.toContain('/retry"');
    expect((await viewer.post(`/admin/mail/${dbId}/retry`)).status).toBe(403);
    expect((await row('relay:5xx')).state).toBe('failed');

    smtp.answer = () => 'accept';
    const retried = await admin.post(`/admin/mail/${dbId}/retry`);
    expect(retried.status).toBe(303);
    expect(retried.headers.location).toBe(`/admin/mail/${dbId}`);
    expect(mainText((await admin.get(`/admin/mail/${dbId}`)).text)).toContain('will be sent again');
    await smtp.waitFor(() => receivedFor('relay:5xx').length === 1, 15000, 'relay:5xx after Retry');
    const sent = await waitForRow('relay:5xx', (r) => r.state === 'sent', 'sent after Retry');
    expect(sent.attempts).toBe(1);
    // A second Retry of a message that is no longer failed changes nothing.
    expect((await admin.post(`/admin/mail/${dbId}/retry`)).status).toBe(303);
    expect((await row('relay:5xx')).state).toBe('sent');
  });

  it('retries a message whose connection dropped after DATA, and delivers it with the same Message-ID', async () => {
    const id = messageIdFor('relay:drop', 'certex.example.org');
    smtp.answer = (mail) => (mail.messageId === id && smtp.dropped.length === 0 ? 'drop' : 'accept');
    await enqueue([message('relay:drop')]);
    const waiting = await waitForRow('relay:drop', (r) => r.state === 'pending' && r.attempts === 1, 'back to pending after the drop');
    expect(waiting.last_error).toBeTruthy();
    expect(smtp.dropped.map((m) => m.messageId)).toEqual([id]);
    await t.db.query(`update outbox set next_attempt_at = now() where message_key = 'relay:drop'`);
    await relay.drain();
    await waitForRow('relay:drop', (r) => r.state === 'sent', 'sent');
    expect(receivedFor('relay:drop')).toHaveLength(1);
  });

  it('never lets a line break from data reach a header', async () => {
    await enqueue([
      message('relay:crlf', {
        toName: 'Ada\r\nBcc: eve@evil.example.org',
        subject: 'Welcome\r\nX-Injected: yes\nReply-To: eve@evil.example.org',
      }),
      message('relay:bad-address', { toAddress: 'ada@learners.example.org\r\nBcc: eve@evil.example.org' }),
      message('relay:two-addresses', { toAddress: 'ada@learners.example.org, eve@evil.example.org' }),
    ]);
    await smtp.waitFor(() => receivedFor('relay:crlf').length === 1, 15000, 'relay:crlf');
    const [mail] = receivedFor('relay:crlf');
    const head = mail.raw.split(/\r\n\r\n/, 1)[0];
    expect(head).not.toMatch(/^(Bcc|X-Injected|Reply-To):/im);
    expect(mail.subject).toBe('Welcome X-Injected: yes Reply-To: eve@evil.example.org');
    expect(mail.to).toBe('"Ada Bcc: eve@evil.example.org" <relay-crlf@learners.example.org>');
    expect(mail.rcptTo).toEqual(['relay-crlf@learners.example.org']);

    for (const key of ['relay:bad-address', 'relay:two-addresses']) {
      const r = await row(key);
      expect(r.state).toBe('failed');
      expect(r.last_error).toContain('not a single valid email address');
    }
    await relay.drain();
    expect(smtp.received.some((m) => m.rcptTo.includes('eve@evil.example.org'))).toBe(false);
  });
});
