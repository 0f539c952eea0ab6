import express from 'express';
import hbs from 'hbs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { pageQuery } from '../../src/common/keyset';
import { PAGE_SIZE } from '../../src/common/listing';
import {
  ExceptionReportService,
  parseView as parseExceptionView,
  SORTS as EXCEPTION_SORTS,
} from '../../src/exceptions/exception-report.service';
import { COMPLETION_SORTS, CompletionReportService, parseCompletionView } from '../../src/reports/completion-report.service';
import {
  MembershipReportService,
  parseView as parseMembershipView,
  SORTS as MEMBERSHIP_SORTS,
} from '../../src/reports/membership-report.service';
import { startTestApp, TEST_PASSWORD } from '../support/app';
import { createExceptionFixture } from '../support/fixtures';
import { signInOverHttp } from '../support/http-sign-in';
import { idle, LoadResult, runAutocannon } from './load-tools';
import { median, timed } from './measure';
import { statementKey } from './statement-timer';
import type { BenchContext } from './run';

/**
 * `npm run bench -- floor [seconds=20] [connections=20]`: what a page could cost on this machine,
 * beside what Certex's pages cost, in one run. One certification of 100,000 learners, memberships
 * and open exceptions. For each of the Exception, Completion and Membership reports, the SQL
 * statement that reads the page's rows (first page and ?page=last) is captured as the report's
 * service reads those rows alone, without the certification header a real page reads in the same
 * statement; the floor is a bare Express + Handlebars + pg server (no session, no sign-in, no
 * counts) that runs exactly that statement with the same values and renders its rows as a table.
 * autocannon drives the floor and the real page in turns, after a warm-up of each, at the same
 * connections for the same time; the ratio of requests/s is the figure that does not move with the
 * machine's speed.
 */
const WARM_UP_SECONDS = 5;
const TURNS = 4;

interface CapturedStatement {
  text: string;
  values: unknown[];
  rows: number;
}

const FLOOR_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}}</title></head>
<body><main><h1>{{title}}</h1>
<table><thead><tr>{{#each columns}}<th scope="col">{{this}}</th>{{/each}}</tr></thead>
<tbody>{{#each rows}}<tr class="app-table__row">{{#each this}}<td>{{this}}</td>{{/each}}</tr>{{/each}}</tbody></table>
</main></body></html>`;

export default async function floorBench(ctx: BenchContext) {
  const seconds = Number(ctx.args[0] ?? 20);
  const connections = Number(ctx.args[1] ?? 20);
  const total = 100000;

  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  const t = await startTestApp();
  process.env.NODE_ENV = nodeEnv;
  const views = await mkdtemp(join(tmpdir(), 'certex-floor-'));
  let floorServer: Server | null = null;
  const floorPool = new Pool({ connectionString: t.config.databaseUrl, max: 10 });
  try {
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    const base = origin + t.config.basePath;

    const arranged = await timed(() =>
      createExceptionFixture(t.db, { prefix: 'FL', shortName: 'Floor', counts: { time_allowance: total } }),
    );
    const certificationId = arranged.result.certificationId;
    ctx.figure(`arrange ${total} learners, memberships and open exceptions (fixture SQL)`, arranged.ms / 1000, 's');
    await t.db.query('vacuum (analyze) learner, membership, membership_source, exception');

    await t.createStaff('floor-admin', 'admin');
    const cookie = await signInOverHttp(base, 'floor-admin', TEST_PASSWORD);

    // Each report's rows statement alone, as its service reads a page without the certification header.
    const exceptionRows = t.app.get(ExceptionReportService);
    const completionRows = t.app.get(CompletionReportService);
    const membershipRows = t.app.get(MembershipReportService);
    const reports: Array<[string, string, (query: Record<string, unknown>) => Promise<unknown>]> = [
      [
        'Exception report',
        `/certifications/${certificationId}/exceptions`,
        (query) => exceptionRows.page(certificationId, parseExceptionView(query, 'UTC'), pageQuery(query, EXCEPTION_SORTS.learner)),
      ],
      [
        'Completion report',
        `/certifications/${certificationId}/completion`,
        (query) => completionRows.page(certificationId, parseCompletionView(query), pageQuery(query, COMPLETION_SORTS.learner)),
      ],
      [
        'Membership report',
        `/certifications/${certificationId}/membership`,
        (query) =>
          membershipRows.page(certificationId, parseMembershipView(query), pageQuery(query, MEMBERSHIP_SORTS.learner.columns), PAGE_SIZE),
      ],
    ];
    const floorStatements = new Map<string, CapturedStatement>();
    const statementsPerRequest = new Map<string, number>();
    for (const [label, path, readRows] of reports) {
      for (const [which, suffix, query] of [
        ['first', '', {}],
        ['last', '?page=last', { page: 'last' }],
      ] as const) {
        const captured = await captureStatements(() => fetchPage(base + path + suffix, cookie, label));
        statementsPerRequest.set(`${label} ${which}`, captured.length);
        if (which === 'first') ctx.figure(`${label}: its SQL statements`, captured.map((c) => statementKey(c.text, 70)).join(' | '));
        const [rowsStatement] = await t.inContext(() => captureStatements(() => readRows(query).then(() => undefined)));
        if (!rowsStatement || rowsStatement.rows <= 1) throw new Error(`${label}: no statement read the page's rows`);
        floorStatements.set(`${label} ${which}`, rowsStatement);
      }
    }

    await writeFile(join(views, 'floor.hbs'), FLOOR_PAGE);
    const floorApp = express();
    floorApp.set('views', views);
    floorApp.set('view engine', 'hbs');
    floorApp.engine('hbs', hbs.__express);
    floorApp.set('view cache', true);
    floorApp.get('/floor/:key', (req, res, next) => {
      const statement = floorStatements.get(decodeURIComponent(req.params.key));
      if (!statement) return void res.status(404).end();
      floorPool
        .query<Record<string, unknown>>({ text: statement.text, values: statement.values })
        .then((result) => {
          const columns = result.fields.map((field) => field.name);
          res.render('floor', { title: 'Floor', columns, rows: result.rows.map((row) => columns.map((c) => cellText(row[c]))) });
        })
        .catch(next);
    });
    const floor = floorApp.listen(0, '127.0.0.1');
    floorServer = floor;
    await new Promise<void>((resolve) => floor.once('listening', () => resolve()));
    const floorOrigin = `http://127.0.0.1:${(floor.address() as AddressInfo).port}`;

    ctx.figure(
      'load',
      `${connections} connections, ${seconds} s each, first page and ?page=last alternating, after ${WARM_UP_SECONDS} s warm-up`,
    );
    for (const [label, path] of reports) {
      const floorPaths = ['first', 'last'].map((which) => `/floor/${encodeURIComponent(`${label} ${which}`)}`);
      for (const p of floorPaths) await fetchPage(floorOrigin + p, '', `${label} floor`);
      const pagePaths = [t.config.basePath + path, `${t.config.basePath}${path}?page=last`];

      const { floor: floorResult, page: pageResult } = await measureInTurns(
        { url: floorOrigin, paths: floorPaths, cookies: [''] },
        { url: origin, paths: pagePaths, cookies: [cookie] },
        connections,
        seconds,
        t.db,
      );
      const floorRps = floorResult.requests / floorResult.durationS;
      const pageRps = pageResult.requests / pageResult.durationS;
      ctx.figure(`${label}: floor (Express + Handlebars + pg, the same rows query)`, describe(floorResult));
      ctx.figure(`${label}: Certex (${statementsPerRequest.get(`${label} first`)} SQL statements a request)`, describe(pageResult));
      ctx.figure(`${label}: requests/s ratio Certex / floor (target ≥ 0.5)`, pageRps / floorRps);
      ctx.figure(`${label}: p99 (target ≤ 40 ms)`, pageResult.p99, 'ms');
    }
  } finally {
    floorServer?.close();
    await floorPool.end();
    await rm(views, { recursive: true, force: true });
    await t.close();
  }
}

function cellText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

function describe(result: TurnsResult): string {
  const errors = result.non2xx + result.errors + result.timeouts;
  return `${(result.requests / result.durationS).toFixed(0)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms (slowest turn), app CPU ${(result.appCpuMs / result.requests).toFixed(2)} ms a request${errors ? `, ${errors} errors` : ''}`;
}

interface Target {
  url: string;
  paths: string[];
  cookies: string[];
}

interface TurnsResult extends LoadResult {
  appCpuMs: number;
}

/**
 * Floor and page in turns (TURNS slices of seconds/TURNS each, one after the other), so that a
 * change in the machine's speed during the run falls on both alike; the slices are added up.
 */
async function measureInTurns(floor: Target, page: Target, connections: number, seconds: number, db: Pool) {
  await runAutocannon({ ...floor, connections, seconds: WARM_UP_SECONDS });
  await runAutocannon({ ...page, connections, seconds: WARM_UP_SECONDS });
  await idle(db);
  const slices: { floor: TurnsResult[]; page: TurnsResult[] } = {
    floor: [],
    page: [],
  };
  for (let turn = 0; turn < TURNS; turn++) {
    for (const which of ['floor', 'page'] as const) {
      const before = process.cpuUsage();
      const result = await runAutocannon({
        ...(which === 'floor' ? floor : page),
        connections,
        seconds: Math.max(1, Math.round(seconds / TURNS)),
      });
      const cpu = process.cpuUsage(before);
      slices[which].push({ ...result, appCpuMs: (cpu.user + cpu.system) / 1000 });
      await idle(db);
    }
  }
  return { floor: addUp(slices.floor), page: addUp(slices.page) };
}

function addUp(slices: TurnsResult[]): TurnsResult {
  const sum = (pick: (r: TurnsResult) => number) => slices.reduce((n, r) => n + pick(r), 0);
  return {
    ...slices[0],
    requests: sum((r) => r.requests),
    durationS: sum((r) => r.durationS),
    p50: median(slices.map((r) => r.p50)),
    p95: Math.max(...slices.map((r) => r.p95)),
    p99: Math.max(...slices.map((r) => r.p99)),
    max: Math.max(...slices.map((r) => r.max)),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    appCpuMs: sum((r) => r.appCpuMs),
  };
}

async function fetchPage(url: string, cookie: string, label: string): Promise<void> {
  const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  const html = await res.text();
  const rows = (html.match(/<tr class="app-table__row"/g) ?? []).length + (html.match(/name="ids"/g) ?? []).length;
  if (res.status !== 200 || rows === 0) throw new Error(`${label}: GET ${url} answered ${res.status} with ${rows} rows`);
}

/** Every statement any pg client of this process sent while `work` ran, with its values and how many rows it returned. */
async function captureStatements(work: () => Promise<void>): Promise<CapturedStatement[]> {
  const captured: CapturedStatement[] = [];
  const original = Client.prototype.query;
  const patched = function (this: Client, ...args: unknown[]): unknown {
    const config = args[0] as string | { text?: string; values?: unknown[] } | undefined;
    const text = typeof config === 'string' ? config : config?.text;
    const values = (typeof config === 'string' ? args[1] : config?.values) as unknown[] | undefined;
    const keep = (value: { rowCount?: number | null } | undefined) => {
      if (text) captured.push({ text, values: Array.isArray(values) ? values : [], rows: value?.rowCount ?? 0 });
    };
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      // knex (under MikroORM) passes a callback; pg then returns nothing.
      args[last] = (error: unknown, value: { rowCount?: number | null } | undefined) => {
        if (!error) keep(value);
        return (callback as (...a: unknown[]) => unknown)(error, value);
      };
    }
    const result = (original as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) void result.then(keep, () => undefined);
    return result;
  };
  Client.prototype.query = patched as typeof Client.prototype.query;
  try {
    await work();
  } finally {
    Client.prototype.query = original;
  }
  return captured;
}
