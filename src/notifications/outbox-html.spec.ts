import { Client } from 'pg';
import { sql } from '../database/sql';
import { databaseUrl } from '../../test/support/databases';
import { MESSAGE_DEFAULTS } from './message-templates';
import { bodyHtmlSql } from './outbox-sql';
import { fillPlaceholders } from './placeholders';

/**
 * The outbox renders every message's HTML part from its plain text in SQL (outbox-sql.ts). These
 * run that SQL on the test server: the HTML must say what the text says, and nothing more.
 */
describe('the HTML part of an outbox message', () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connectionString: databaseUrl('postgres') });
    await client.connect();
  });
  afterAll(() => client.end());

  async function render(text: string, subject = 'Subject'): Promise<string> {
    const query = sql`select ${bodyHtmlSql(sql`${text}::text`, sql`${subject}::text`)} as html`;
    let n = 0;
    const result = await client.query<{ html: string }>(
      query.text.replace(/\?/g, () => `$${++n}`),
      [...query.params],
    );
    return result.rows[0].html;
  }

  const URL = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  const escape = (text: string) =>
    text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  const unescape = (html: string) =>
    html
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');

  /** The text again from the HTML's paragraphs: links and line breaks undone, entities decoded. */
  function paragraphsOf(html: string): string[] {
    const body = /<body>([\s\S]*)<\/body>/.exec(html)![1];
    return [...body.matchAll(/<p>([\s\S]*?)<\/p>/g)].map((m) =>
      unescape(
        m[1]
          .replace(/<br>/g, '\n')
          .replace(/<a href="[^"]*">/g, '')
          .replace(/<\/a>/g, ''),
      ),
    );
  }

  async function expectParity(text: string) {
    const html = await render(text);
    expect(paragraphsOf(html)).toEqual(text.replace(/\r\n?/g, '\n').split(/\n{2,}/));
    for (const [url] of text.matchAll(URL)) expect(html).toContain(`<a href="${escape(url)}">${escape(url)}</a>`);
    expect(html.match(/<a /g)?.length ?? 0).toBe([...text.matchAll(URL)].length);
  }

  const values = {
    learner_first_name: 'Zoë',
    learner_full_name: 'Zoë O’Brien',
    certification_name: 'Fire & Safety <Level 2>',
    due_date: '5 December 2026',
    expiry_date: '5 December 2027',
    link: 'https://certex.example.org/base/',
  };

  it.each(MESSAGE_DEFAULTS.map((d) => [d.kind, d.body]))('matches the text of the default %s message', async (_kind, body) => {
    await expectParity(fillPlaceholders(body, values));
  });

  it('matches the text of an administrators’ notice', async () => {
    await expectParity(
      [
        'The certification «Fire Safety» has 3 new exceptions since the last notice.',
        'Open exceptions (3):\nTime allowance: 2\nCompletion time unknown: 1',
        'Open the exception report:\nhttps://certex.example.org/base/certifications/7/exceptions',
        'You can switch these emails off on your account page:\nhttps://certex.example.org/base/account',
      ].join('\n\n'),
    );
  });

  it('matches edited texts: query strings, trailing punctuation, several links, line ends', async () => {
    await expectParity('See https://certex.example.org/x?type=a&b=1. Thanks\r\n\r\n(https://a.example/p), https://b.example/q&!\n\n\nBye');
    await expectParity('x https://a.example/"onmouseover="y and http://c.example/<b>');
    await expectParity('A link at the end https://certex.example.org');
  });

  it('links an address only where a word starts, also right after another address or an entity', async () => {
    await expectParity('xhttps://a.example/p _http://b.example 9https://c.example/ and https://d.example/');
    await expectParity('&https://e.example/&amp; <https://f.example/> (http://g.example)https://h.example, "https://i.example"');
    await expectParity('https://j.example/a,https://k.example/b.\nhttps://l.example/c;https://m.example');
  });

  it('escapes every character of the text, and never lets markup through', async () => {
    const html = await render('Dear <b>Ada</b>,\nwelcome.\n\nBye & thanks', 'Hi <there>');
    expect(html).toContain('<p>Dear &lt;b&gt;Ada&lt;/b&gt;,<br>welcome.</p><p>Bye &amp; thanks</p>');
    expect(html).toContain('<title>Hi &lt;there&gt;</title>');
    expect(html).not.toContain('<b>');
    expect(await render('x https://a.example/"onmouseover="y')).not.toContain('"onmouseover');
  });
});
