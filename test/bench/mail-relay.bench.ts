import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { startTestApp } from '../support/app';
import { duplicates, startSmtpServer } from '../support/smtp';
import { OutboxMessage, OutboxService } from '../../src/notifications/outbox.service';
import { messageIdFor } from '../../src/notifications/mail-text';
import { MAIL_POOL_SIZE } from '../../src/notifications/mail-relay.constants';
import type { BenchContext } from './run';
import { timed } from './measure';

/**
 * `npm run bench -- mail-relay [messages]`: writes 10,000 messages to the outbox in one
 * transaction, then times the relay (in this process, through its queue, 5 pooled SMTP
 * connections) draining them into a real SMTP server in this process. Checks that every message
 * arrived exactly once. Target: at least 100 messages a second.
 */
export default async function mailRelayBench(ctx: BenchContext) {
  const total = Number(ctx.args[0] ?? 10000);
  const smtp = await startSmtpServer({ parse: false });
  const t = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Certex <certex@bench.example.org>' });
  try {
    const messages: OutboxMessage[] = Array.from({ length: total }, (_, i) => ({
      key: `bench:${i}`,
      kind: 'bench',
      toAddress: `learner${i}@bench.example.org`,
      toName: `Learner ${i}`,
      subject: `Your certification «Safety ${i % 50}» is due soon`,
      text: `Dear Learner ${i},\n\nYour certification Safety ${i % 50} is due on 1 March 2027.\n\nOpen it: https://certex.example.org/certifications/${i % 50}\n\nCertex`,
    }));
    const outbox = t.app.get(OutboxService);
    const written = await timed(() =>
      t.inContext(() =>
        (t.app.get(MikroORM).em.fork() as EntityManager).transactional((em: EntityManager) => outbox.enqueue(em, messages)),
      ),
    );
    if (written.result !== total) throw new Error(`enqueue added ${written.result} rows, not ${total}`);
    ctx.figure(`enqueue ${total} messages (one transaction)`, written.ms, 'ms');

    // The commit woke the relay; the clock runs from the commit to the last message accepted.
    const start = process.hrtime.bigint();
    await smtp.waitFor(() => smtp.received.length >= total, 10 * 60 * 1000, `${total} messages`);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;

    // Every message arrived once, with its own Message-ID.
    const expected = new Set(messages.map((m) => messageIdFor(m.key, 'bench.example.org')));
    const got = new Set(smtp.received.map((m) => m.messageId));
    const missing = [...expected].filter((id) => !got.has(id)).length;
    const twice = duplicates(smtp.received).size;
    if (smtp.maxOpenConnections > MAIL_POOL_SIZE) throw new Error(`${smtp.maxOpenConnections} connections open at once`);
    if (missing || twice || smtp.received.length !== total) {
      throw new Error(`${smtp.received.length} received, ${missing} missing, ${twice} received more than once`);
    }
    // And the outbox agrees (the last outcomes are written just after the last send).
    for (let i = 0; ; i++) {
      const sent = (await t.db.query(`select count(*)::int as n from outbox where state = 'sent'`)).rows[0].n;
      if (sent === total) break;
      if (i > 100) throw new Error(`only ${sent} rows marked sent`);
      await new Promise((r) => setTimeout(r, 50));
    }

    ctx.figure('SMTP connections: most open at once (pool size)', `${smtp.maxOpenConnections} (${MAIL_POOL_SIZE})`);
    ctx.figure('SMTP connections opened in all (each carries up to 1,000 messages)', smtp.connectionsOpened);
    ctx.figure(`drain ${total} messages into the SMTP server`, seconds, 's');
    ctx.figure('throughput (target ≥ 100)', total / seconds, 'messages/s');
    ctx.figure('arrived exactly once', `${got.size} of ${total}, 0 missing, 0 twice`);
  } finally {
    await t.close();
    await smtp.close();
  }
}
