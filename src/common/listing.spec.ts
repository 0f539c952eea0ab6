import { ariaSort, learnerMatchesSql, parseListView, sortHeader, sortParams } from './listing';
import { UrlBuilder } from './url';

describe('list kit', () => {
  const sorts = { learner: 1, due: 1 };

  it('reads search, sort and direction the same way for every list', () => {
    expect(parseListView({ q: '  ada  ', sort: 'due', dir: 'desc' }, sorts, 'learner')).toEqual({ q: 'ada', sort: 'due', dir: 'desc' });
    expect(parseListView({ q: ['x'], sort: 'constructor', dir: 'up' }, sorts, 'learner')).toEqual({ q: '', sort: 'learner', dir: 'asc' });
    expect(parseListView({ q: 'x'.repeat(500) }, sorts, 'learner').q).toHaveLength(200);
  });

  it('links a header to its sort, flipping the current one, with aria-sort only there', () => {
    const urls = new UrlBuilder('/base', 'http://localhost');
    const current = { q: 'ada', sort: 'due', dir: 'asc' as const };
    expect(sortHeader(urls, '/list', 'Due', 'due', current)).toEqual({
      label: 'Due',
      href: '/base/list?q=ada&sort=due&dir=desc',
      ariaSort: 'ascending',
    });
    expect(sortHeader(urls, '/list', 'Learner', 'learner', current, { state: 'certified' }, 'learner')).toEqual({
      label: 'Learner',
      href: '/base/list?state=certified',
      ariaSort: undefined,
    });
    expect(ariaSort({ sort: 'due', dir: 'desc' }, 'due')).toBe('descending');
    expect(sortParams({ sort: 'learner', dir: 'asc' }, 'learner')).toEqual({ sort: undefined, dir: undefined });
    expect(sortParams({ sort: 'due', dir: 'desc' }, 'learner')).toEqual({ sort: 'due', dir: 'desc' });
  });

  it('matches a learner by name or ID number, the search a literal contains pattern', () => {
    const match = learnerMatchesSql('e.learner_id', 'Ada_50%');
    expect(match.text).toBe(`e.learner_id in (select ls.id from learner ls
            where lower(ls.first_name || ' ' || ls.last_name || ' ' || ls.id_number) like ?)`);
    expect(match.params).toEqual(['%ada\\_50\\%%']);
  });
});
