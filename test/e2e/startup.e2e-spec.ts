import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createServer } from 'node:net';
import request from 'supertest';
import { csrfFrom } from '../support/app';
import { databaseUrl, templateName, TEST_REDIS_URL } from '../support/databases';
import { MAIN_ARGS } from '../support/processes';

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

const ROOT = resolve(__dirname, '../..');

/** Starts `src/main.ts` as the start command does, with the given settings; resolves when it exits. */
function start(
  env: Record<string, string>,
  timeoutMs = 30000,
  onOutput?: (stdout: string, kill: () => void) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, MAIN_ARGS, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'test', LOG_FORMAT: 'json', REDIS_URL: TEST_REDIS_URL, DEMO_DATA: 'false', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      onOutput?.(stdout, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`did not exit in ${timeoutMs} ms: ${stdout} ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

describe('starting Certex', () => {
  const template = databaseUrl(templateName(process.env.CERTEX_TEST_RUN!));

  it.each([
    [{ PORT: 'abc' }, 'certex: invalid setting: PORT must be a whole number from 0 to 65535, not "abc".'],
    [{ BASE_PATH: 'intranet' }, 'certex: invalid setting: BASE_PATH must be empty or a path such as /intranet/certex'],
    [{ PROCESS_ROLE: 'both' }, 'certex: invalid setting: PROCESS_ROLE must be all, web or worker, not "both".'],
    [{ NODE_ENV: 'production' }, 'certex: invalid setting: SESSION_SECRET must be set (at least 32 characters) when NODE_ENV=production.'],
    [{ DATABASE_URL: 'mysql://x' }, 'certex: invalid setting: DATABASE_URL must start with postgres: or postgresql:// '],
  ])('stops on a bad setting %j with one clear line', async (env, message) => {
    const result = await start({ DATABASE_URL: template, ...env });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0].replace(/\s+$/, '')).toContain(message.trim().replace(/ $/, ''));
  });

  it('with SERVICE_WAIT_SECONDS=0 stops with one line naming PostgreSQL, where it looked, and how to fix it', async () => {
    const result = await start({ DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/certex', SERVICE_WAIT_SECONDS: '0' });
    expect(result.code).toBe(3);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('Cannot reach PostgreSQL at postgres://postgres:***@127.0.0.1:1/certex (ECONNREFUSED)');
    expect(lines[0]).toContain('set DATABASE_URL');
    expect(result.stderr).not.toContain('secret');
  });

  it('with SERVICE_WAIT_SECONDS=0 stops with one line naming Redis when Redis cannot be reached', async () => {
    const result = await start({ DATABASE_URL: template, REDIS_URL: 'redis://127.0.0.1:1', SERVICE_WAIT_SECONDS: '0' });
    expect(result.code).toBe(3);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('Cannot reach Redis at redis://127.0.0.1:1 (ECONNREFUSED)');
  });

  it('creates its database, migrates, creates the first administrator, serves, and stops gracefully', async () => {
    const port = await freePort();
    const name = `certex_t_${process.env.CERTEX_TEST_RUN}_fresh`;
    const checked: Array<Promise<void>> = [];
    const result = await start(
      { DATABASE_URL: databaseUrl(name), PORT: String(port), ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'boss password 123' },
      60000,
      (stdout, stop) => {
        if (checked.length > 0 || !stdout.includes('Certex is serving')) return;
        checked.push(
          (async () => {
            const agent = request.agent(`http://127.0.0.1:${port}`);
            const token = csrfFrom((await agent.get('/login')).text)!;
            const signIn = await agent.post('/login').type('form').send({ _csrf: token, username: 'boss', password: 'boss password 123' });
            expect(signIn.status).toBe(303);
            const page = await agent.get('/certifications');
            expect(page.status).toBe(200);
            expect(page.text).toContain('<h1 class="app-heading-xl">Certifications</h1>');
          })().finally(stop),
        );
      },
    );
    await Promise.all(checked);
    // Nest closes the app on SIGTERM, then lets the signal end the process.
    expect(result.stderr).toBe('');
    expect(result.code === 0 || result.signal === 'SIGTERM').toBe(true);
    expect(result.stdout).not.toContain('"level":"error"');
  });

  it('prints a generated password once when no ADMIN_PASSWORD is set', async () => {
    const port = await freePort();
    const name = `certex_t_${process.env.CERTEX_TEST_RUN}_nopass`;
    const result = await start({ DATABASE_URL: databaseUrl(name), PORT: String(port) }, 60000, (stdout, stop) => {
      if (stdout.includes('Certex is serving')) stop();
    });
    expect(result.stdout).toMatch(/Username: admin\n {2}Password: \S{16}/);
  });
});
