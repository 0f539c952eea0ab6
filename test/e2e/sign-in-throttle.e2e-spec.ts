import { Logger } from '@nestjs/common';
import * as throttle from '../../src/auth/sign-in-throttle';
import { AttemptTicket, failureDelayMs } from '../../src/auth/sign-in-throttle';
import { csrfFrom, mainText, startTestApp, TestApp, TestClient, TEST_PASSWORD } from '../support/app';

/** Sign-in attempts as they arrive from one address (the app believes X-Forwarded-For from loopback). */
class From {
  private constructor(
    private readonly client: TestClient,
    private readonly token: string,
    private readonly address: string,
  ) {}

  static async address(t: TestApp, address: string): Promise<From> {
    const client = t.client();
    const page = await client.agent.get('/login').set('X-Forwarded-For', address);
    return new From(client, csrfFrom(page.text)!, address);
  }

  signIn(username: string, password: string) {
    return this.client.agent
      .post('/login')
      .set('X-Forwarded-For', this.address)
      .type('form')
      .send({ _csrf: this.token, username, password });
  }

  async timedSignIn(username: string, password: string): Promise<{ status: number; ms: number }> {
    const started = Date.now();
    const res = await this.signIn(username, password);
    return { status: res.status, ms: Date.now() - started };
  }
}

/** What the throttle decided for each attempt made during `work`: refused, or allowed after a delay. */
async function ticketsDuring(work: () => Promise<unknown>): Promise<AttemptTicket[]> {
  const spy = jest.spyOn(throttle, 'takeAttempt');
  try {
    await work();
    return await Promise.all(spy.mock.results.map((result) => result.value as Promise<AttemptTicket>));
  } finally {
    spy.mockRestore();
  }
}

describe('sign-in throttling', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin', TEST_PASSWORD, 'Ada Admin');
    await t.createStaff('vic', 'viewer', TEST_PASSWORD, 'Vic Viewer');
  });
  afterAll(() => t.close());

  async function attemptsOn(username: string, address: string): Promise<number> {
    const result = await t.db.query<{ n: number }>('select count(*)::int as n from login_attempt where username = $1 and ip = $2', [
      username,
      address,
    ]);
    return result.rows[0].n;
  }

  it('checks at most five passwords of 40 parallel sign-ins for one username, the right one among them', async () => {
    await t.createStaff('rush', 'admin', TEST_PASSWORD, 'Rush');
    const attacker = await From.address(t, '203.0.113.10');
    const passwords = Array.from({ length: 40 }, (_, i) => (i % 8 === 7 ? TEST_PASSWORD : `wrong ${i}`));
    const answers = await Promise.all(passwords.map((password) => attacker.signIn('rush', password)));
    const statuses = answers.map((res) => res.status);
    const checked = statuses.filter((status) => status === 401 || status === 303).length;
    expect(checked).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40 - checked);
    expect(statuses.every((status) => [303, 401, 429].includes(status))).toBe(true);
  });

  it('counts each parallel attempt before its check: 40 wrong passwords leave five checks, then the right one is refused', async () => {
    await t.createStaff('tess', 'admin', TEST_PASSWORD, 'Tess');
    const attacker = await From.address(t, '203.0.113.20');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => attacker.signIn('tess', `wrong ${i}`)));
    expect(answers.filter((res) => res.status === 401)).toHaveLength(5);
    expect(answers.filter((res) => res.status === 429)).toHaveLength(35);
    expect(await attemptsOn('tess', '203.0.113.20')).toBe(5);

    const blocked = await attacker.signIn('tess', TEST_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(mainText(blocked.text)).toContain('Too many failed sign-in attempts from this address');
    expect(await attemptsOn('tess', '203.0.113.20')).toBe(5);
  });

  it('answers an unknown username exactly as a known one, also when throttled', async () => {
    const attacker = await From.address(t, '203.0.113.30');
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 6; i++) known.push((await attacker.signIn('vic', `wrong ${i}`)).status);
    for (let i = 0; i < 6; i++) unknown.push((await attacker.signIn('nobody-here', `wrong ${i}`)).status);
    expect(known).toEqual([401, 401, 401, 401, 401, 429]);
    expect(unknown).toEqual(known);
  });

  it('lets the person in from their own address while an attacker hammers their username from another', async () => {
    const attacker = await From.address(t, '198.51.100.66');
    await Promise.all(Array.from({ length: 20 }, (_, i) => attacker.signIn('ada', `guess ${i}`)));
    expect((await attacker.signIn('ada', TEST_PASSWORD)).status).toBe(429);

    const ada = await From.address(t, '192.0.2.7');
    let status = 0;
    const tickets = await ticketsDuring(async () => (status = (await ada.signIn('ada', TEST_PASSWORD)).status));
    expect(status).toBe(303);
    // Checked at once: no delay for her address, whatever the attacker's count.
    expect(tickets).toEqual([{ allowed: true, delayMs: 0 }]);
    // The attacker's count is theirs: Ada signing in does not reset it.
    expect(await attemptsOn('ada', '198.51.100.66')).toBe(5);
  });

  it('slows each further attempt of a username from one address, doubling and capped', async () => {
    expect([0, 1, 2, 3, 4, 5, 9].map(failureDelayMs)).toEqual([0, 250, 500, 1000, 1000, 1000, 1000]);

    await t.createStaff('slow', 'viewer', TEST_PASSWORD, 'Slow');
    const from = await From.address(t, '203.0.113.40');
    const tries: Array<{ status: number; ms: number }> = [];
    const tickets = await ticketsDuring(async () => {
      for (let i = 0; i < 4; i++) tries.push(await from.timedSignIn('slow', `wrong ${i}`));
      tries.push(await from.timedSignIn('slow', TEST_PASSWORD));
    });
    expect(tries.map((attempt) => attempt.status)).toEqual([401, 401, 401, 401, 303]);
    // Doubling from 0.25 s, capped at 1 s: a doubling delay would have waited 2 s before the fifth check.
    expect(tickets.map((ticket) => ticket.allowed && ticket.delayMs)).toEqual([0, 250, 500, 1000, 1000]);
    // And the waits really happen before the check.
    expect(tries[1].ms).toBeGreaterThanOrEqual(250);
    expect(tries[2].ms).toBeGreaterThanOrEqual(500);
    expect(tries[3].ms).toBeGreaterThanOrEqual(1000);
    expect(tries[4].ms).toBeGreaterThanOrEqual(1000);
    // The right password starts the pair again.
    expect(await attemptsOn('slow', '203.0.113.40')).toBe(0);
  });

  it('lets a site administrator clear a person’s failed sign-ins on their staff page, audited; the person signs in at once', async () => {
    const id = await t.createStaff('locked', 'viewer', TEST_PASSWORD, 'Locked Person');
    const from = await From.address(t, '203.0.113.50');
    await Promise.all(Array.from({ length: 5 }, (_, i) => from.signIn('locked', `wrong ${i}`)));
    expect((await from.signIn('locked', TEST_PASSWORD)).status).toBe(429);

    const admin = await t.signedIn('ada');
    const page = await admin.get(`/admin/staff/${id}`);
    expect(page.text).toContain(`action="/admin/staff/${id}/sign-in-throttle/clear"`);
    expect(mainText(page.text)).toContain('Clear failed sign-in attempts');

    const audit = jest.spyOn(Logger.prototype, 'log');
    const cleared = await admin.post(`/admin/staff/${id}/sign-in-throttle/clear`);
    expect(cleared.status).toBe(303);
    expect(cleared.headers.location).toBe(`/admin/staff/${id}`);
    expect(audit.mock.calls.map((call) => String(call[0]))).toContainEqual(
      expect.stringMatching(new RegExp(`sign-in throttle cleared: staff_id=${id} username="locked" attempts=5 by_staff_id=\\d+`)),
    );
    audit.mockRestore();
    expect(mainText((await admin.get(`/admin/staff/${id}`)).text)).toContain('Failed sign-in attempts for “Locked Person” cleared');

    let status = 0;
    const tickets = await ticketsDuring(async () => (status = (await from.signIn('locked', TEST_PASSWORD)).status));
    expect(status).toBe(303);
    expect(tickets).toEqual([{ allowed: true, delayMs: 0 }]);
  });

  it('refuses the clearing to a viewer and without a token', async () => {
    const id = await t.createStaff('stuck', 'viewer', TEST_PASSWORD, 'Stuck');
    const from = await From.address(t, '203.0.113.60');
    await Promise.all(Array.from({ length: 5 }, (_, i) => from.signIn('stuck', `wrong ${i}`)));

    const viewer = await t.signedIn('vic');
    expect((await viewer.post(`/admin/staff/${id}/sign-in-throttle/clear`)).status).toBe(403);
    const admin = await t.signedIn('ada');
    const noToken = await admin.agent.post(`/admin/staff/${id}/sign-in-throttle/clear`).type('form').send({});
    expect(noToken.status).toBe(403);
    expect(await attemptsOn('stuck', '203.0.113.60')).toBe(5);
    expect((await from.signIn('stuck', TEST_PASSWORD)).status).toBe(429);
  });
});
