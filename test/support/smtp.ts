import type { AddressInfo } from 'node:net';
import { SMTPServer, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { simpleParser } from 'mailparser';

/** One message as the SMTP server received it. */
export interface ReceivedMail {
  messageId: string;
  /** Envelope recipients (RCPT TO). */
  rcptTo: string[];
  /** The raw message, headers and body, as it came over the wire. */
  raw: string;
  /** Parsed with mailparser (empty when the server was started with parse: false). */
  subject: string;
  from: string;
  to: string;
  text: string;
  html: string;
  headers: Map<string, unknown>;
  at: number;
}

/** What the server answers at the end of DATA: accept, an SMTP error, or drop the connection without a word. */
export type SmtpAnswer = 'accept' | 'drop' | { code: number; message: string };

export interface TestSmtpServer {
  /** smtp://127.0.0.1:<port>, for SMTP_URL. */
  readonly url: string;
  /** Accepted messages, in order. */
  readonly received: ReceivedMail[];
  /** Messages answered with an error. */
  readonly rejected: Array<ReceivedMail & { answer: { code: number; message: string } }>;
  /** Messages whose connection was dropped after DATA (never accepted). */
  readonly dropped: ReceivedMail[];
  /** Decides each answer; default: accept everything. */
  answer: (mail: ReceivedMail) => SmtpAnswer;
  /** Resolves once `predicate` holds (checked after every message), or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** How many SMTP connections clients have opened so far, and the most open at one time. */
  readonly connectionsOpened: number;
  readonly maxOpenConnections: number;
  /** Called after each message is accepted (for tests that act at a given count). */
  onAccepted?: (mail: ReceivedMail) => void;
  close(): Promise<void>;
}

export interface SmtpServerOptions {
  /** Parse each message with mailparser (default true); false only records Message-ID and raw text, for speed. */
  parse?: boolean;
  /** Wait this long before answering each message, to make a relay's work take a while. */
  delayMs?: number;
}

function headerValue(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/, 1)[0];
  const match = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
  return match ? match[1].replace(/\r?\n[ \t]+/g, ' ').trim() : '';
}

/** A real SMTP server on 127.0.0.1 and a free port, collecting what it is sent. */
export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const parse = options.parse ?? true;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((check) => check());
  let open = 0;

  const state: TestSmtpServer = {
    url: '',
    received: [],
    rejected: [],
    dropped: [],
    connectionsOpened: 0,
    maxOpenConnections: 0,
    answer: () => 'accept',
    waitFor(predicate, timeoutMs = 20000, what = 'the expected mail') {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!predicate()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `SMTP server: no ${what} after ${timeoutMs} ms (received ${state.received.length}, rejected ${state.rejected.length}, dropped ${state.dropped.length})`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => Promise.resolve(),
  };

  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    disableReverseLookup: true,
    size: 10 * 1024 * 1024,
    onConnect(_session, callback) {
      const counts = state as { connectionsOpened: number; maxOpenConnections: number };
      counts.connectionsOpened++;
      counts.maxOpenConnections = Math.max(counts.maxOpenConnections, ++open);
      callback();
    },
    onClose() {
      open--;
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on(
        'end',
        () =>
          void (async () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            const mail: ReceivedMail = {
              messageId: headerValue(raw, 'Message-ID'),
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              raw,
              subject: '',
              from: '',
              to: '',
              text: '',
              html: '',
              headers: new Map(),
              at: Date.now(),
            };
            try {
              if (parse) {
                const parsed = await simpleParser(raw);
                mail.subject = parsed.subject ?? '';
                mail.from = parsed.from?.text ?? '';
                mail.to = Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : (parsed.to?.text ?? '');
                mail.text = parsed.text ?? '';
                mail.html = typeof parsed.html === 'string' ? parsed.html : '';
                mail.headers = parsed.headers;
              }
              if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
              const answer = state.answer(mail);
              if (answer === 'drop') {
                state.dropped.push(mail);
                const connection = [...((server as any).connections as Set<any>)].find((c) => c.id === session.id);
                connection?._socket?.destroy();
              } else if (answer === 'accept') {
                state.received.push(mail);
                state.onAccepted?.(mail);
                callback();
              } else {
                state.rejected.push({ ...mail, answer });
                callback(Object.assign(new Error(answer.message), { responseCode: answer.code }));
              }
            } catch (error) {
              callback(error as Error);
            }
            notify();
          })(),
      );
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = ((server as any).server.address() as AddressInfo).port;
  (state as { url: string }).url = `smtp://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const connection of (server as any).connections as Set<any>) connection._socket?.destroy();
      server.close(() => resolve());
    });
  return state;
}

/** Every Message-ID delivered more than once, with how many times. */
export function duplicates(mails: ReceivedMail[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const mail of mails) counts.set(mail.messageId, (counts.get(mail.messageId) ?? 0) + 1);
  return new Map([...counts].filter(([, n]) => n > 1));
}
