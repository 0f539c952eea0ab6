import { fillPlaceholders, fillPlaceholdersSql, messageDate, PLACEHOLDERS, unknownPlaceholders } from './placeholders';

describe('placeholders', () => {
  it('fills every known placeholder, each time it appears', () => {
    const text = fillPlaceholders('Dear {learner_first_name}, {certification_name} is due on {due_date}. {learner_first_name}: {link}', {
      learner_first_name: 'Pat',
      certification_name: 'Fire Safety',
      due_date: '5 December 2026',
      link: 'https://learn.example.org/',
    });
    expect(text).toBe('Dear Pat, Fire Safety is due on 5 December 2026. Pat: https://learn.example.org/');
  });

  it('leaves unknown names and names without a value as written', () => {
    expect(fillPlaceholders('{nope} {due_date} {learner_full_name}', { learner_full_name: 'Pat Lee' })).toBe('{nope} {due_date} Pat Lee');
  });

  it('never fills a placeholder that a value brought in', () => {
    expect(
      fillPlaceholders('{learner_full_name} / {certification_name}', {
        learner_full_name: '{certification_name}',
        certification_name: 'X',
      }),
    ).toBe('{certification_name} / X');
  });

  it('finds the braces that are not placeholders', () => {
    expect(unknownPlaceholders('Hi {learner_name} {due_date} {} {learner_name} {Link}')).toEqual(['{learner_name}', '{}', '{Link}']);
    expect(unknownPlaceholders('Hi {learner_first_name}, see {link}')).toEqual([]);
  });

  it('writes dates with the full month name, as days of the site zone', () => {
    expect(messageDate(new Date('2026-12-05T23:30:00Z'), 'UTC')).toBe('5 December 2026');
    expect(messageDate(new Date('2026-12-05T23:30:00Z'), 'Europe/Berlin')).toBe('6 December 2026');
    expect(messageDate(new Date('2026-12-05T23:30:00Z'), 'America/New_York')).toBe('5 December 2026');
    expect(messageDate(null, 'UTC')).toBe('');
  });

  it('builds the SQL fill from every placeholder, without a "?" (the query builder would take it for a parameter)', () => {
    const values = Object.fromEntries(PLACEHOLDERS.map((p) => [p.name, `v_${p.name}`])) as any;
    const sql = fillPlaceholdersSql('t.body', values);
    expect(sql).not.toContain('?');
    for (const p of PLACEHOLDERS) {
      expect(sql).toContain(`'{${p.name}}'`);
      expect(sql).toContain(`v_${p.name}`);
    }
  });
});
