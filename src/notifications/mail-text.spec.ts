import { backoffSeconds, errorText, headerText, isPlainAddress, mailDomain, messageIdFor } from './mail-text';

describe('headerText', () => {
  it('turns CR, LF and other control characters into single spaces', () => {
    expect(headerText('Hello\r\nBcc: evil@example.org')).toBe('Hello Bcc: evil@example.org');
    expect(headerText('a\rb\nc\u0000d\u2028e')).toBe('a b c d e');
    expect(headerText('  two  \n\n  lines ')).toBe('two lines');
  });

  it('keeps ordinary text and accents, and copes with null', () => {
    expect(headerText('Zoë Ångström – “Safety”')).toBe('Zoë Ångström – “Safety”');
    expect(headerText(null)).toBe('');
  });
});

describe('message ids and addresses', () => {
  it('gives the same Message-ID for the same key and another for another key', () => {
    const a = messageIdFor('enrolment:1:1', 'example.org');
    expect(a).toMatch(/^<[0-9a-f]{32}@example\.org>$/);
    expect(messageIdFor('enrolment:1:1', 'example.org')).toBe(a);
    expect(messageIdFor('enrolment:1:2', 'example.org')).not.toBe(a);
  });

  it('takes the domain from MAIL_FROM', () => {
    expect(mailDomain('Certex <certex@Learning.Example.org>')).toBe('learning.example.org');
    expect(mailDomain('certex@localhost')).toBe('localhost');
  });

  it('accepts one plain mailbox only', () => {
    expect(isPlainAddress('ada.lovelace+x@example.org')).toBe(true);
    expect(isPlainAddress('a@b.example, c@d.example')).toBe(false);
    expect(isPlainAddress('Ada <a@b.example>')).toBe(false);
    expect(isPlainAddress('a@b.example\r\nBcc: c@d.example')).toBe(false);
    expect(isPlainAddress('no-at-sign')).toBe(false);
  });
});

describe('backoffSeconds and errorText', () => {
  it('doubles the wait after each failed attempt, up to the maximum', () => {
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, 30))).toEqual([30, 60, 120, 240]);
    expect(backoffSeconds(30, 30, 3600)).toBe(3600);
  });

  it('prefers the SMTP answer and keeps it on one line', () => {
    expect(errorText({ response: '451 4.3.0 Try\r\nlater', code: 'EENVELOPE', message: 'x' })).toBe('451 4.3.0 Try later (EENVELOPE)');
    expect(errorText(new Error('Connection closed'))).toBe('Connection closed');
  });
});
