import { EntityManager } from '@mikro-orm/postgresql';
import { pageQuery } from '../../src/common/keyset';
import { Learner } from '../../src/learners/learner.entity';
import { LearnersService } from '../../src/learners/learners.service';
import { startTestApp } from '../support/app';
import type { BenchContext } from './run';
import { median, timed } from './measure';

const PAGE = 50;
const WALK = 40;

/**
 * `npm run bench -- paging [learners]`: the learner list's keyset paging (common/keyset.ts, as the
 * page runs it) against MikroORM's own cursor paging (em.findByCursor on the Learner entity), the
 * same order (ID number, id), the same page size, on [learners] rows: the first page 30 times, and
 * a walk of 40 pages forward 5 times. Medians; the ratio says which the lists keep.
 */
export default async function pagingBench(ctx: BenchContext) {
  const total = Number(ctx.args[0] ?? 100000);
  const t = await startTestApp();
  try {
    await t.db.query(
      `insert into learner (id_number, username, first_name, last_name, email)
       select 'P' || lpad(n::text, 7, '0'), 'p' || n, 'Pat', 'Learner' || n, 'p' || n || '@example.org' from generate_series(1, $1) n`,
      [total],
    );
    await t.db.query('vacuum (analyze) learner');
    ctx.figure('learners', total);

    const keysetPage = (after: string | undefined) =>
      t.inContext(() =>
        t.app.get(LearnersService).list({ q: '', sort: 'idNumber', dir: 'asc', page: pageQuery(after ? { after } : {}, 2) }),
      );
    const cursorPage = (after: string | undefined) =>
      t.inContext(() =>
        t.app
          .get(EntityManager)
          .fork()
          .findByCursor(Learner, {}, { first: PAGE, after, orderBy: { idNumber: 'asc', id: 'asc' }, includeCount: false }),
      );
    const afterOf = (href: string | undefined) => (href ? (new URL(href, 'http://x').searchParams.get('after') ?? undefined) : undefined);

    const keysetWalk = async () => {
      let after: string | undefined;
      for (let i = 0; i < WALK; i++) after = afterOf((await keysetPage(after)).pagination.nextHref);
      return after;
    };
    const cursorWalk = async () => {
      let after: string | undefined;
      for (let i = 0; i < WALK; i++) after = (await cursorPage(after)).endCursor ?? undefined;
      return after;
    };
    // The same rows on both sides.
    const [keysetFirst, cursorFirst] = [await keysetPage(undefined), await cursorPage(undefined)];
    if (keysetFirst.rows[0].id_number !== cursorFirst.items[0].idNumber) throw new Error('the two ways page different rows');

    const ways: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
      ['keyset (common/keyset.ts)', () => keysetPage(undefined), keysetWalk],
      ['MikroORM findByCursor', () => cursorPage(undefined), cursorWalk],
    ];
    for (const [label, first, walk] of ways) {
      const firsts: number[] = [];
      for (let i = 0; i < 30; i++) firsts.push((await timed(first)).ms);
      const walks: number[] = [];
      for (let i = 0; i < 5; i++) walks.push((await timed(walk)).ms);
      ctx.figure(`${label}: first page, median of 30`, median(firsts), 'ms');
      ctx.figure(`${label}: ${WALK} pages forward, median of 5`, median(walks), 'ms');
    }
  } finally {
    await t.close();
  }
}
