import { startTestApp } from '../support/app';
import type { BenchContext } from './run';
import { median, timeRequests } from './measure';

/** The smallest benchmark: the sign-in page and the health check, served in process. */
export default async function healthBench(ctx: BenchContext) {
  const t = await startTestApp();
  try {
    const client = t.client();
    const rounds = Number(ctx.args[0] ?? 200);
    ctx.figure('GET /health median', median(await timeRequests(rounds, () => client.get('/health'))), 'ms');
    ctx.figure('GET /login median', median(await timeRequests(rounds, () => client.get('/login'))), 'ms');
  } finally {
    await t.close();
  }
}
