import { Client } from 'pg';

/**
 * Times every SQL statement any pg client of this process sends (the app's MikroORM/knex pool and
 * the worker run in process), grouped by statement text with literals blanked, so a benchmark can
 * say where the time of a step goes without touching the code under test. Statements containing
 * BENCH_MARK are left out (the benchmark's own polling).
 *
 * With `explain` set (a diagnostic pass, never a timed one), each statement it matches is first run
 * as EXPLAIN (ANALYZE, BUFFERS, WAL) inside a savepoint that is rolled back, on the same connection and
 * in the same transaction, and then run for real; the plans are kept.
 */
export const BENCH_MARK = '/* bench */';

export interface StatementTiming {
  statement: string;
  count: number;
  totalMs: number;
}

export interface ExplainedStatement {
  statement: string;
  plan: any;
}

export function statementKey(text: string, length = 110): string {
  return text
    .replace(/'\{[^}]*\}'/g, "'{…}'")
    .replace(/\b\d+\b/g, 'N')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, length);
}

export class StatementTimer {
  private readonly timings = new Map<string, StatementTiming>();
  readonly explained: ExplainedStatement[] = [];
  private readonly pending: Promise<unknown>[] = [];
  private original: typeof Client.prototype.query | null = null;

  constructor(private readonly explain?: RegExp) {}

  start(): void {
    if (this.original) return;
    const original = Client.prototype.query as any;
    this.original = original;
    const record = (text: string, started: bigint) => {
      const statement = statementKey(text);
      const entry = this.timings.get(statement) ?? { statement, count: 0, totalMs: 0 };
      entry.count++;
      entry.totalMs += Number(process.hrtime.bigint() - started) / 1e6;
      this.timings.set(statement, entry);
    };
    const explain = this.explain;
    const explained = this.explained;
    const pending = this.pending;
    Client.prototype.query = function (this: Client, ...args: any[]): any {
      const config = args[0];
      const text: string | undefined = typeof config === 'string' ? config : config?.text;
      if (!text || text.includes(BENCH_MARK)) return original.apply(this, args);
      if (explain?.test(text)) {
        // pg runs a client's queries in the order they are issued: these three go before the real one.
        const values = typeof config === 'string' ? (Array.isArray(args[1]) ? args[1] : undefined) : config.values;
        const noop = () => undefined;
        original.call(this, 'savepoint bench_explain').catch(noop);
        pending.push(
          original
            .call(this, `explain (analyze, buffers, wal, format json) ${text}`, values)
            .then((result: any) => explained.push({ statement: statementKey(text, 200), plan: result.rows[0]['QUERY PLAN'][0] }))
            .catch((error: Error) => explained.push({ statement: statementKey(text, 200), plan: { error: error.message } })),
        );
        original.call(this, 'rollback to savepoint bench_explain').catch(noop);
      }
      const started = process.hrtime.bigint();
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        const callback = args[last];
        args[last] = (...result: unknown[]) => {
          record(text, started);
          return callback(...result);
        };
        return original.apply(this, args);
      }
      const result = original.apply(this, args);
      if (result && typeof result.then === 'function') {
        return result.then(
          (value: unknown) => {
            record(text, started);
            return value;
          },
          (error: unknown) => {
            record(text, started);
            throw error;
          },
        );
      }
      return result;
    } as any;
  }

  async stop(): Promise<StatementTiming[]> {
    if (this.original) Client.prototype.query = this.original;
    this.original = null;
    await Promise.all(this.pending);
    return [...this.timings.values()].sort((a, b) => b.totalMs - a.totalMs);
  }
}

/**
 * One line about a plan: execution time, the WAL it wrote (records, full-page images, bytes), the
 * slowest nodes, and the time spent in triggers (FK checks).
 */
export function describePlan(plan: any): string {
  if (plan.error) return `EXPLAIN failed: ${plan.error}`;
  const triggers = (plan.Triggers ?? []) as Array<{ 'Trigger Name': string; Relation: string; Time: number; Calls: number }>;
  const triggerMs = triggers.reduce((n, tr) => n + tr.Time, 0);
  const nodes: string[] = [];
  const walk = (node: any, depth: number) => {
    if (depth < 3) {
      nodes.push(
        `${node['Node Type']}${node['Relation Name'] ? ' ' + node['Relation Name'] : ''}${node['Index Name'] ? ' (' + node['Index Name'] + ')' : ''} ${Number(node['Actual Total Time']).toFixed(0)} ms`,
      );
    }
    for (const child of node.Plans ?? []) walk(child, depth + 1);
  };
  walk(plan.Plan, 0);
  const triggerText = triggers.map((tr) => `${tr['Trigger Name']} on ${tr.Relation} ${tr.Time.toFixed(0)} ms/${tr.Calls}`).join('; ');
  const written = statementWal(plan.Plan);
  const wal =
    written === null ? '' : `, WAL ${written.records} records / ${written.fpi} full pages / ${(written.bytes / 1048576).toFixed(1)} MB`;
  return `execution ${plan['Execution Time'].toFixed(0)} ms${wal}, of which triggers ${triggerMs.toFixed(0)} ms [${triggerText}]; nodes: ${nodes.join(' > ')}`;
}

/**
 * The WAL a whole statement wrote. A node's figures include what its children did, and a CTE's
 * work is counted where a CTE Scan reads it; a data-modifying CTE that nothing reads runs after
 * the plan and is counted nowhere else, so its subplan's figures are added to the top node's.
 */
function statementWal(top: any): { records: number; fpi: number; bytes: number } | null {
  if (top['WAL Bytes'] === undefined) return null;
  const read = new Set<string>();
  const ctes: any[] = [];
  const walk = (node: any) => {
    if (node['Node Type'] === 'CTE Scan') read.add(node['CTE Name']);
    if (node['Parent Relationship'] === 'InitPlan' && /^CTE /.test(node['Subplan Name'] ?? '')) ctes.push(node);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(top);
  const unread = ctes.filter((node) => !read.has(node['Subplan Name'].slice(4)));
  return [top, ...unread].reduce(
    (sum, node) => ({ records: sum.records + node['WAL Records'], fpi: sum.fpi + node['WAL FPI'], bytes: sum.bytes + node['WAL Bytes'] }),
    { records: 0, fpi: 0, bytes: 0 },
  );
}
