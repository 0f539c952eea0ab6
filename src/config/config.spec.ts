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

  it('never prints a password from a URL', () => {
    expect(redactUrl('postgres://me:secret@db:5432/certex')).toBe('postgres://me:***@db:5432/certex');
  });

  describe('single sign-on (OIDC_*) and LOCAL_SIGN_IN', () => {
    const oidc = {
      PUBLIC_URL: 'https://certex.example.org',
      OIDC_ISSUER_URL: 'https://login.example.org/realms/staff',
      OIDC_CLIENT_ID: 'certex',
      OIDC_CLIENT_SECRET: 's3cret',
      OIDC_ADMIN_GROUP: 'certex-admins',
    };

    it('is off by default, and password sign-in on', () => {
      expect(loadConfig({})).toMatchObject({ oidc: null, localSignIn: true });
    });

    it('reads the provider, the client, the groups and their claim', () => {
      expect(
        loadConfig({ ...oidc, OIDC_VIEWER_GROUP: 'certex-viewers', OIDC_GROUPS_CLAIM: 'roles', LOCAL_SIGN_IN: 'false' }),
      ).toMatchObject({
        localSignIn: false,
        oidc: {
          issuerUrl: 'https://login.example.org/realms/staff',
          clientId: 'certex',
          clientSecret: 's3cret',
          adminGroup: 'certex-admins',
          viewerGroup: 'certex-viewers',
          groupsClaim: 'roles',
          scopes: 'openid profile email',
          allowHttp: true,
        },
      });
      expect(loadConfig({ ...oidc, OIDC_ADMIN_GROUP: '', OIDC_VIEWER_GROUP: 'certex-viewers' }).oidc).toMatchObject({
        adminGroup: null,
        viewerGroup: 'certex-viewers',
        groupsClaim: 'groups',
      });
      expect(loadConfig({ ...oidc, OIDC_SCOPES: 'openid  profile email groups' }).oidc?.scopes).toBe('openid profile email groups');
    });

    it('allows a plain-http provider outside production only', () => {
      expect(loadConfig({ ...oidc, OIDC_ISSUER_URL: 'http://127.0.0.1:4000' }).oidc?.allowHttp).toBe(true);
      const production = { NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) };
      expect(loadConfig({ ...production, ...oidc }).oidc?.allowHttp).toBe(false);
      expect(() => loadConfig({ ...production, ...oidc, OIDC_ISSUER_URL: 'http://login.example.org' })).toThrow(
        /^OIDC_ISSUER_URL must start with https:\/\/, not "http:\/\/"/,
      );
    });

    it.each([
      [{ OIDC_ISSUER_URL: '' }, 'OIDC_ISSUER_URL', /must be set too.*\(set: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_ADMIN_GROUP\)/],
      [{ OIDC_CLIENT_ID: '' }, 'OIDC_CLIENT_ID', /must be set too/],
      [{ OIDC_CLIENT_SECRET: '  ' }, 'OIDC_CLIENT_SECRET', /must be set too/],
      [{ OIDC_ADMIN_GROUP: '' }, 'OIDC_ADMIN_GROUP', /or OIDC_VIEWER_GROUP must be set.*nobody could sign in/],
      [{ OIDC_VIEWER_GROUP: 'certex-admins' }, 'OIDC_VIEWER_GROUP', /must differ/],
      [{ OIDC_ISSUER_URL: 'login.example.org' }, 'OIDC_ISSUER_URL', /issuer URL/],
      [{ OIDC_ISSUER_URL: 'ftp://login.example.org' }, 'OIDC_ISSUER_URL', /https:\/\//],
      [{ OIDC_ISSUER_URL: 'https://login.example.org/?tenant=x' }, 'OIDC_ISSUER_URL', /without a query/],
      [{ OIDC_GROUPS_CLAIM: 'my groups' }, 'OIDC_GROUPS_CLAIM', /claim name/],
      [{ OIDC_SCOPES: 'profile email' }, 'OIDC_SCOPES', /openid among them/],
      [{ PUBLIC_URL: '' }, 'PUBLIC_URL', /auth\/oidc\/callback/],
      [{ LOCAL_SIGN_IN: 'perhaps' }, 'LOCAL_SIGN_IN', /true or false/],
    ])('refuses %j with a message naming %s', (change, name, message) => {
      const env = { ...oidc, ...change };
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(new RegExp(`^${name} `));
      expect(() => loadConfig(env)).toThrow(message);
    });

    it('refuses a lone OIDC setting rather than quietly leaving single sign-on off', () => {
      expect(() => loadConfig({ OIDC_GROUPS_CLAIM: 'roles' })).toThrow(/^OIDC_ISSUER_URL must be set too/);
      expect(() => loadConfig({ OIDC_VIEWER_GROUP: 'certex-viewers' })).toThrow(/^OIDC_ISSUER_URL must be set too/);
    });

    it('refuses LOCAL_SIGN_IN=false when nobody could sign in, and allows it with single sign-on or the proxy header', () => {
      expect(() => loadConfig({ LOCAL_SIGN_IN: 'false' })).toThrow(/^LOCAL_SIGN_IN=false needs single sign-on .* nobody could sign in/);
      expect(() => loadConfig({ LOCAL_SIGN_IN: 'false', AUTH_PROXY_HEADER: ' ' })).toThrow(/^LOCAL_SIGN_IN=false/);
      expect(loadConfig({ LOCAL_SIGN_IN: 'false', AUTH_PROXY_HEADER: 'X-Remote-User' }).localSignIn).toBe(false);
      expect(loadConfig({ ...oidc, LOCAL_SIGN_IN: 'off' }).localSignIn).toBe(false);
    });
  });
});
