import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { startTestApp, TestApp } from '../support/app';
import { CertexProcess, startWorker } from '../support/processes';
import { ReceivedMail, startSmtpServer, TestSmtpServer } from '../support/smtp';
import { OutboxMessage, OutboxService } from '../../src/notifications/outbox.service';
import { messageIdFor } from '../../src/notifications/mail-text';

/**
 * The relay's crash test: a worker process is killed (SIGKILL) while it sends 2,000 messages, a
 * new worker takes over, and in the end every message has arrived. A message may arrive twice
 * only if the dead worker was sending it (its row was 'sending', not yet 'sent'), and then always
 * with the same Message-ID, so that the recipient's mail system can drop the second copy.
 */

const TOTAL = 2000;
/** Kill the worker the moment the server has accepted this many messages. */
const KILL_AT = 400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a mail relay killed while sending', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  const workers: CertexProcess[] = [];

  beforeAll(async () => {
    // A few milliseconds per message, so that 2,000 take a few seconds and the kill lands mid-way.
    smtp = await startSmtpServer({ parse: false, delayMs: 5 });
    // The test process only writes the outbox; worker processes send.
    t = await startTestApp({ PROCESS_ROLE: 'web', SMTP_URL: smtp.url, MAIL_FROM: 'Certex <certex@crash.example.org>' });
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await t?.close();
    await smtp?.close();
  });

  function worker(): CertexProcess {
    const w = startWorker(t.config, { SMTP_URL: smtp.url, MAIL_FROM: 'Certex <certex@crash.example.org>' });
    workers.push(w);
    return w;
  }

  async function states(): Promise<Record<string, number>> {
    const rows = (await t.db.query('select state, count(*)::int as n from outbox group by state')).rows;
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  it('delivers every message after a restart, none lost, a second copy only of messages in flight and only with the same Message-ID', async () => {
    const started = Date.now();
    const lap = (label: string) => process.stdout.write(`mail-crash: ${label} at ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    const keys = Array.from({ length: TOTAL }, (_, i) => `crash:${String(i).padStart(4, '0')}`);
    const messages: OutboxMessage[] = keys.map((key, i) => ({
      key,
      kind: 'crash-test',
      toAddress: `learner${i}@crash.example.org`,
      toName: `Learner ${i}`,
      subject: `Crash test ${key}`,
      text: `Message ${key}.`,
    }));
    const outbox = t.app.get(OutboxService);
    const added = await t.inContext(() =>
      (t.app.get(MikroORM).em.fork() as EntityManager).transactional((em: EntityManager) => outbox.enqueue(em, messages)),
    );
    expect(added).toBe(TOTAL);
    lap('2,000 messages enqueued');

    const first = worker();
    const kill: { exited?: Promise<{ signal: NodeJS.Signals | null }> } = {};
    smtp.onAccepted = () => {
      if (smtp.received.length === KILL_AT) kill.exited = first.kill('SIGKILL');
    };
    await first.ready;
    lap('worker 1 ready');
    await smtp.waitFor(() => kill.exited !== undefined, 30000, `${KILL_AT} messages before the kill`);
    const exit = await kill.exited!;
    expect(exit.signal).toBe('SIGKILL');
    smtp.onAccepted = undefined;

    // Once its connections are gone, what the dead worker left is fixed: look at it.
    for (let i = 0; (await t.db.query('select 1 from pg_stat_activity where application_name = $1', [first.appName])).rowCount; i++) {
      if (i > 200) throw new Error('the killed worker’s database connections did not go away');
      await sleep(25);
    }
    const atKill = await states();
    const inFlight = new Set(
      (await t.db.query(`select message_key from outbox where state = 'sending'`)).rows.map((r) => r.message_key as string),
    );
    const receivedAtKill = smtp.received.length;
    lap(`worker 1 killed: server has ${receivedAtKill}, outbox ${JSON.stringify(atKill)}`);
    expect(receivedAtKill).toBeGreaterThanOrEqual(KILL_AT);
    expect(receivedAtKill).toBeLessThan(TOTAL);
    expect(atKill.sending ?? 0).toBeGreaterThan(0);

    const second = worker();
    await second.ready;
    lap('worker 2 ready');
    const deadline = Date.now() + 45000;
    for (let now = await states(); (now.sent ?? 0) < TOTAL; now = await states()) {
      if (Date.now() > deadline) throw new Error(`not all sent: ${JSON.stringify(now)}\n${second.output().slice(-3000)}`);
      await sleep(200);
    }
    lap(`all sent: server has ${smtp.received.length}`);

    // Every key arrived; each arrival of a key carries that key's one Message-ID.
    const byKey = new Map<string, ReceivedMail[]>();
    for (const mail of smtp.received) {
      const key = /Crash test (crash:\d{4})/.exec(mail.raw)?.[1];
      expect(key).toBeDefined();
      byKey.set(key!, [...(byKey.get(key!) ?? []), mail]);
    }
    const missing = keys.filter((key) => !byKey.has(key));
    expect(missing).toEqual([]);
    const resent: string[] = [];
    for (const [key, mails] of byKey) {
      const expected = messageIdFor(key, 'crash.example.org');
      expect(mails.map((m) => m.messageId)).toEqual(mails.map(() => expected));
      if (mails.length > 1) resent.push(key);
      expect(mails.length).toBeLessThanOrEqual(2);
    }
    // Only messages the dead worker had claimed but not recorded as sent can come twice.
    expect(resent.filter((key) => !inFlight.has(key))).toEqual([]);
    expect(smtp.received.length).toBe(TOTAL + resent.length);
    process.stdout.write(
      `mail-crash: ${TOTAL} messages, ${smtp.received.length} deliveries, ${resent.length} resent with the same Message-ID ` +
        `(${inFlight.size} were 'sending' at the kill), 0 lost, 0 duplicates with another Message-ID\n`,
    );
    const rows = (
      await t.db.query(`select count(*)::int as n from outbox where state = 'sent' and sent_at is not null and locked_until is null`)
    ).rows[0];
    expect(rows.n).toBe(TOTAL);
    await second.kill('SIGKILL');
  });

  it('stops gracefully on SIGTERM: the batch in flight is finished and recorded, no row is left sending', async () => {
    await t.db.query('delete from outbox');
    smtp.received.length = 0;
    const outbox = t.app.get(OutboxService);
    const messages: OutboxMessage[] = Array.from({ length: 1000 }, (_, i) => ({
      key: `term:${i}`,
      kind: 'crash-test',
      toAddress: `term${i}@crash.example.org`,
      subject: `Shutdown test ${i}`,
      text: 'x',
    }));
    await t.inContext(() =>
      (t.app.get(MikroORM).em.fork() as EntityManager).transactional((em: EntityManager) => outbox.enqueue(em, messages)),
    );
    const w = worker();
    const term: { exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } = {};
    smtp.onAccepted = () => {
      if (smtp.received.length === 150) term.exited = w.kill('SIGTERM');
    };
    await w.ready;
    await smtp.waitFor(() => term.exited !== undefined, 30000, '150 messages before SIGTERM');
    await term.exited;
    smtp.onAccepted = undefined;
    const after = await states();
    process.stdout.write(`mail-crash: SIGTERM after 150 accepted: server has ${smtp.received.length}, outbox ${JSON.stringify(after)}\n`);
    expect(after.sending ?? 0).toBe(0);
    expect(after.sent).toBe(smtp.received.length);
    expect(after.pending).toBeGreaterThan(0);
    expect(w.output()).not.toMatch(/"level":"error"|ERROR/);
  });
});
