import { randomBytes } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Pool } from 'pg';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import request from 'supertest';
import * as argon2 from 'argon2';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import * as queueNames from '../../src/jobs/queues';
import { createApp, ensureFirstAdmin } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/config';
import { databaseUrl, templateName, TEST_REDIS_URL, withServer } from './databases';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** The Node server, for supertest. */
  server: any;
  /** A pool on this test file's own database, for arranging and asserting. */
  db: Pool;
  close(): Promise<void>;
  /** Creates a staff account directly in the database; returns its id. */
  createStaff(username: string, role: 'admin' | 'viewer', password?: string, displayName?: string): Promise<number>;
  client(): TestClient;
  /** Runs service code as a request or job would: in its own EntityManager context. */
  inContext<T>(work: () => Promise<T>): Promise<T>;
  signedIn(username: string, password?: string): Promise<TestClient>;
}

export const TEST_PASSWORD = 'correct horse battery staple';

/**
 * Argon2id at the lowest cost argon2 accepts, for accounts the tests arrange directly in the
 * database. A hash carries its own parameters, so the app verifies these through the same code as
 * production-cost hashes, in milliseconds instead of most of a second on a busy 2-core machine;
 * accounts created through the app (staff admin, first administrator) keep the production cost.
 */
const FIXTURE_HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 } as const;

export interface TestAppOptions {
  /**
   * PostgreSQL's TimeZone for every session on the test database (ALTER DATABASE … SET timezone),
   * to show that nothing depends on it.
   */
  databaseTimeZone?: string;
}

/** Starts the whole app on a fresh database copied from the migrated template. */
export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const runId = process.env.CERTEX_TEST_RUN;
  if (!runId) throw new Error('CERTEX_TEST_RUN is not set: run the tests through jest (globalSetup)');
  const suffix = randomBytes(4).toString('hex');
  const name = `certex_t_${runId}_${suffix}`;
  await withServer(async (client) => {
    await client.query(`create database "${name}" template "${templateName(runId)}"`);
    if (options.databaseTimeZone) {
      await client.query(`alter database "${name}" set timezone to '${options.databaseTimeZone.replace(/'/g, "''")}'`);
    }
  });

  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl(name),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `certex-t-${runId}-${suffix}`,
    DEMO_DATA: 'false',
    LOG_FORMAT: 'json',
    ...env,
  });
  const app = await createApp(config, process.env.TEST_LOGS ? undefined : false);
  const db = new Pool({ connectionString: config.databaseUrl, max: 4 });
  const server = app.getHttpServer();

  const testApp: TestApp = {
    app,
    config,
    server,
    db,
    async close() {
      await closeQueues(app);
      await app.close();
      await db.end();
    },
    async createStaff(username, role, password = TEST_PASSWORD, displayName = username) {
      const hash = await argon2.hash(password, FIXTURE_HASH_OPTIONS);
      const result = await db.query(
        'insert into staff (username, display_name, role, password_hash) values ($1, $2, $3, $4) returning id',
        [username, displayName, role, hash],
      );
      return result.rows[0].id;
    },
    client() {
      return new TestClient(server, config.basePath);
    },
    inContext(work) {
      return RequestContext.create(app.get(MikroORM).em, work);
    },
    async signedIn(username, password = TEST_PASSWORD) {
      const client = new TestClient(server, config.basePath);
      await client.signIn(username, password);
      return client;
    },
  };
  return testApp;
}

/**
 * Closes every Bull queue of the app at once. Bull gives the QUIT of a queue's blocked connection
 * half a second before it drops it, and Nest closes the queues module after module, so app.close()
 * alone spent 2-3 s per test file waiting. Each close still waits for the jobs in progress, as
 * on shutdown; app.close() then finds the queues closed and does the rest as always.
 */
async function closeQueues(app: NestExpressApplication): Promise<void> {
  const names = Object.entries(queueNames)
    .filter(([key]) => key.endsWith('_QUEUE'))
    .map(([, name]) => name as string);
  const queues: Queue[] = [];
  for (const name of names) {
    try {
      queues.push(app.get<Queue>(getQueueToken(name), { strict: false }));
    } catch {
      // Not registered in this app.
    }
  }
  await Promise.all(queues.map((queue) => queue.close()));
}

/** A browser-like client: keeps cookies, knows the base path, reads CSRF tokens from pages. */
export class TestClient {
  readonly agent: ReturnType<typeof request.agent>;
  private token: string | null = null;

  constructor(
    server: any,
    readonly basePath: string,
  ) {
    this.agent = request.agent(server);
  }

  path(p: string): string {
    return p.startsWith(this.basePath + '/') && this.basePath ? p : this.basePath + p;
  }

  async get(p: string) {
    const res = await this.agent.get(this.path(p));
    const token = csrfFrom(res.text ?? '');
    if (token) this.token = token;
    return res;
  }

  /** Posts a form as a page of the app would, with the session's CSRF token. */
  async post(p: string, fields: Record<string, string | string[] | number> = {}) {
    if (!this.token) await this.get('/login');
    return this.agent
      .post(this.path(p))
      .type('form')
      .send({ _csrf: this.token!, ...fields });
  }

  async signIn(username: string, password: string) {
    await this.get('/login');
    const res = await this.post('/login', { username, password });
    if (res.status !== 303) throw new Error(`sign-in as ${username} failed with ${res.status}`);
    await this.get('/certifications');
    return res;
  }
}

export function csrfFrom(html: string): string | null {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  return match ? match[1] : null;
}

/** The text of the page's <main>, tags removed and whitespace collapsed, for readable assertions. */
export function mainText(html: string): string {
  const main = /<main[\s\S]*?<\/main>/.exec(html)?.[0] ?? html;
  return main
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

export { ensureFirstAdmin };
