import { ConfigError, embeddingAllowed, loadConfig, redactUrl } from './config';

describe('settings from the environment', () => {
  it('has working defaults for one machine', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/certex',
      redisUrl: 'redis://127.0.0.1:6379',
      port: 3000,
      basePath: '',
      frameAncestors: ["'self'"],
      smtpUrl: null,
      processRole: 'all',
      demoData: true,
      publicOrigin: 'http://localhost:3000',
      adminNoticeIntervalMinutes: 60,
      bulkChunkSize: 5000,
      adminEmail: null,
      siteTimeZone: 'UTC',
    });
    expect(embeddingAllowed(config)).toBe(false);
  });

  it('reads every setting', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      SESSION_SECRET: 'x'.repeat(32),
      BASE_PATH: '/intranet/certex/',
      FRAME_ANCESTORS: "'self' https://portal.example.org",
      SMTP_URL: 'smtp://mail.example.org:587',
      PUBLIC_URL: 'https://learning.example.org/ignored/path',
      PROCESS_ROLE: 'worker',
      DEMO_DATA: 'yes',
      ADMIN_EMAIL: ' it-desk@example.org ',
    });
    expect(config).toMatchObject({
      production: true,
      basePath: '/intranet/certex',
      frameAncestors: ["'self'", 'https://portal.example.org'],
      smtpUrl: 'smtp://mail.example.org:587',
      publicOrigin: 'https://learning.example.org',
      processRole: 'worker',
      demoData: true,
      adminEmail: 'it-desk@example.org',
    });
    expect(embeddingAllowed(config)).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) }).demoData).toBe(false);
  });

  it.each([
    [{ PORT: '70000' }, 'PORT'],
    [{ BASE_PATH: '/a b' }, 'BASE_PATH'],
    [{ FRAME_ANCESTORS: 'javascript:alert(1)' }, 'FRAME_ANCESTORS'],
    [{ SMTP_URL: 'http://mail' }, 'SMTP_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ SESSION_SECRET: 'short' }, 'SESSION_SECRET'],
    [{ ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD'],
    [{ DEMO_DATA: 'maybe' }, 'DEMO_DATA'],
    [{ ADMIN_EMAIL: 'admin' }, 'ADMIN_EMAIL'],
    [{ ADMIN_EMAIL: 'a@example.org, b@example.org' }, 'ADMIN_EMAIL'],
    [{ ADMIN_EMAIL: 'Admin <admin@example.org>' }, 'ADMIN_EMAIL'],
    [{ BULK_CHUNK_SIZE: '0' }, 'BULK_CHUNK_SIZE'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ MAIL_FROM: 'Certex\r\nBcc: x@y <a@b>' }, 'MAIL_FROM'],
    [{ ADMIN_NOTICE_INTERVAL_MINUTES: 'hourly' }, 'ADMIN_NOTICE_INTERVAL_MINUTES'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ SERVICE_WAIT_SECONDS: 'forever' }, 'SERVICE_WAIT_SECONDS'],
  ])('refuses %j with a message naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${name} `));
  });

  it('reads SITE_TIMEZONE as an IANA zone name, spelt as the runtime spells it', () => {
    expect(loadConfig({ SITE_TIMEZONE: 'Asia/Kathmandu' }).siteTimeZone).toBe('Asia/Kathmandu');
    expect(loadConfig({ SITE_TIMEZONE: ' europe/london ' }).siteTimeZone).toBe('Europe/London');
    expect(loadConfig({ SITE_TIMEZONE: 'Asia/Kolkata' }).siteTimeZone).toBe('Asia/Kolkata');
    expect(loadConfig({ SITE_TIMEZONE: '' }).siteTimeZone).toBe('UTC');
  });

  it.each(['Mars/Olympus', '+05:00', 'UTC+1', 'Europe/London; drop table staff', 'x'.repeat(70)])(
    'refuses SITE_TIMEZONE=%s with a message naming the variable',
    (zone) => {
      expect(() => loadConfig({ SITE_TIMEZONE: zone })).toThrow(ConfigError);
      expect(() => loadConfig({ SITE_TIMEZONE: zone })).toThrow(/^SITE_TIMEZONE must be an IANA time zone name/);
    },
  );

  it('never prints a password from a URL', () => {
    expect(redactUrl('postgres://me:secret@db:5432/certex')).toBe('postgres://me:***@db:5432/certex');
  });
});
