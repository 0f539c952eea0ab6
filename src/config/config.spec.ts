import { ConfigError, embeddingAllowed, loadConfig, proxyAddressList, redactUrl } from './config';

describe('settings from the environment', () => {
  it('has working defaults for one machine', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/certex',
      redisUrl: 'redis://127.0.0.1:6379',
      port: 3000,
      workerHealthPort: 3001,
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
    [{ WORKER_HEALTH_PORT: 'x' }, 'WORKER_HEALTH_PORT'],
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
    [{ SYNC_CHUNK_SIZE: '0' }, 'SYNC_CHUNK_SIZE'],
    [{ SYNC_CHUNK_SIZE: '1000001' }, 'SYNC_CHUNK_SIZE'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ MAIL_FROM: 'Certex\r\nBcc: x@y <a@b>' }, 'MAIL_FROM'],
    [{ ADMIN_NOTICE_INTERVAL_MINUTES: 'hourly' }, 'ADMIN_NOTICE_INTERVAL_MINUTES'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ SERVICE_WAIT_SECONDS: 'forever' }, 'SERVICE_WAIT_SECONDS'],
  ])('refuses %j with a message naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${name} `));
  });

  describe('authenticating proxy (AUTH_PROXY_*)', () => {
    const proxy = {
      AUTH_PROXY_HEADER: 'X-Remote-User',
      AUTH_PROXY_GROUPS_HEADER: 'X-Remote-Groups',
      AUTH_PROXY_ADDRESSES: '10.0.0.5, 192.168.10.0/24 ::1,fd00:1::/64',
      AUTH_PROXY_ADMIN_GROUP: 'certex-admins',
      AUTH_PROXY_VIEWER_GROUP: 'certex-viewers',
    };

    it('is off unless AUTH_PROXY_HEADER is set', () => {
      expect(loadConfig({}).authProxy).toBeNull();
    });

    it('reads the headers in lower case, the addresses and the groups', () => {
      const config = loadConfig({ ...proxy, AUTH_PROXY_NAME_HEADER: 'X-Remote-Name', AUTH_PROXY_EMAIL_HEADER: 'X-Remote-Email' });
      expect(config.authProxy).toEqual({
        header: 'x-remote-user',
        groupsHeader: 'x-remote-groups',
        nameHeader: 'x-remote-name',
        emailHeader: 'x-remote-email',
        addresses: [
          { address: '10.0.0.5', prefix: 32, family: 'ipv4' },
          { address: '192.168.10.0', prefix: 24, family: 'ipv4' },
          { address: '::1', prefix: 128, family: 'ipv6' },
          { address: 'fd00:1::', prefix: 64, family: 'ipv6' },
        ],
        adminGroup: 'certex-admins',
        viewerGroup: 'certex-viewers',
      });
    });

    it('believes exactly the listed addresses and ranges, IPv4 also as IPv4-mapped IPv6', () => {
      const list = proxyAddressList(loadConfig(proxy).authProxy!.addresses);
      const believed = (address: string) => list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
      expect(['10.0.0.5', '::ffff:10.0.0.5', '192.168.10.0', '192.168.10.255', '::1', 'fd00:1::abcd'].map(believed)).toEqual([
        true,
        true,
        true,
        true,
        true,
        true,
      ]);
      expect(['10.0.0.6', '192.168.11.1', '::2', 'fd00:2::1', '::ffff:10.0.0.6'].map(believed)).toEqual([
        false,
        false,
        false,
        false,
        false,
      ]);
    });

    it('takes the OIDC groups when no proxy groups are set, and its own over them', () => {
      const shared = {
        ...proxy,
        AUTH_PROXY_ADMIN_GROUP: '',
        AUTH_PROXY_VIEWER_GROUP: '',
        PUBLIC_URL: 'https://certex.example.org',
        OIDC_ISSUER_URL: 'https://login.example.org/realms/staff',
        OIDC_CLIENT_ID: 'certex',
        OIDC_CLIENT_SECRET: 's3cret',
        OIDC_ADMIN_GROUP: 'sso-admins',
        OIDC_VIEWER_GROUP: 'sso-viewers',
      };
      expect(loadConfig(shared).authProxy).toMatchObject({ adminGroup: 'sso-admins', viewerGroup: 'sso-viewers' });
      expect(loadConfig({ ...shared, AUTH_PROXY_VIEWER_GROUP: 'proxy-viewers' }).authProxy).toMatchObject({
        adminGroup: 'sso-admins',
        viewerGroup: 'proxy-viewers',
      });
    });

    it.each([
      [{ AUTH_PROXY_HEADER: 'X Remote User' }, 'AUTH_PROXY_HEADER'],
      [{ AUTH_PROXY_ADDRESSES: '' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: ' , ' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: 'proxy.example.org' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: '10.0.0.300' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: '10.0.0.0/33' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: 'fd00::/129' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: '10.0.0.0/8/8' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: '10.0.0.0/x' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: '0.0.0.0/0' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_ADDRESSES: '::/0' }, 'AUTH_PROXY_ADDRESSES'],
      [{ AUTH_PROXY_GROUPS_HEADER: '' }, 'AUTH_PROXY_GROUPS_HEADER'],
      [{ AUTH_PROXY_GROUPS_HEADER: 'x-remote-user' }, 'AUTH_PROXY_GROUPS_HEADER'],
      [{ AUTH_PROXY_NAME_HEADER: 'X-Name:' }, 'AUTH_PROXY_NAME_HEADER'],
      [{ AUTH_PROXY_ADMIN_GROUP: '', AUTH_PROXY_VIEWER_GROUP: ' ' }, 'AUTH_PROXY_ADMIN_GROUP'],
      [{ AUTH_PROXY_HEADER: '' }, 'AUTH_PROXY_ADDRESSES'],
    ])('refuses %j with a message naming the variable', (change, name) => {
      const env = { ...proxy, ...change };
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(new RegExp(`^${name} `));
    });
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
      const proxy = {
        AUTH_PROXY_HEADER: 'X-Remote-User',
        AUTH_PROXY_GROUPS_HEADER: 'X-Remote-Groups',
        AUTH_PROXY_ADDRESSES: '10.0.0.5',
        AUTH_PROXY_ADMIN_GROUP: 'certex-admins',
      };
      expect(loadConfig({ LOCAL_SIGN_IN: 'false', ...proxy }).localSignIn).toBe(false);
      expect(loadConfig({ ...oidc, LOCAL_SIGN_IN: 'off' }).localSignIn).toBe(false);
    });
  });
});
