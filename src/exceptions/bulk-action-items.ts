import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { CursorValue, keysetSql, PageQuery, readAllPages, rowKey } from '../common/keyset';
import { learnerMatchesSql } from '../common/listing';
import { sql, SqlRunner } from '../database/sql';

/** One learner a bulk action changed, with the due date before and after from its audit row. */
export interface ChangedLearnerRow {
  exceptionId: number;
  learnerId: number;
  firstName: string;
  lastName: string;
  idNumber: string;
  outcome: 'applied';
  dueBefore: Date | null;
  dueAfter: Date | null;
  key: CursorValue[];
}

/**
 * Items are read in the order the job handled them (exception id), so that a page is a walk of
 * the partial index bulk_action_item_applied (Migration20261130040000) however large the action.
 */
const KEY_COLUMNS = ['i.exception_id'];

export const CHANGED_LEARNER_KEY_COLUMNS: readonly string[] = KEY_COLUMNS;

type ChangedRow = {
  exception_id: string;
  learner_id: number;
  first_name: string;
  last_name: string;
  id_number: string;
  outcome: 'applied';
  due_before: Date | null;
  due_after: Date | null;
  [key: `key_${number}`]: unknown;
};

@Injectable()
export class BulkActionItemsService {
  constructor(private readonly em: EntityManager) {}

  /** One keyset page of the learners the bulk action changed (`limit` + 1 rows, to know if there is more). */
  async changedLearners(bulkActionId: number, q: string, page: PageQuery, limit: number): Promise<ChangedLearnerRow[]> {
    const keyset = keysetSql(KEY_COLUMNS, 'asc', page);
    const search = q ? learnerMatchesSql('e.learner_id', q) : sql`true`;
    const rows = await new SqlRunner(this.em).rows<ChangedRow>(
      sql`select i.exception_id, e.learner_id, l.first_name, l.last_name, l.id_number, i.outcome,
              a.due_before, a.due_after, ${keyset.select}
         from bulk_action_item i
         join exception e on e.id = i.exception_id
         join learner l on l.id = e.learner_id
         left join exception_audit a on a.exception_id = i.exception_id and a.bulk_action_id = i.bulk_action_id
        where i.bulk_action_id = ${bulkActionId} and i.outcome = 'applied' and ${search} and ${keyset.where}
        order by ${keyset.orderBy}
        limit ${limit + 1}`,
    );
    return rows.map((row) => ({
      exceptionId: Number(row.exception_id),
      learnerId: Number(row.learner_id),
      firstName: row.first_name,
      lastName: row.last_name,
      idNumber: row.id_number,
      outcome: row.outcome,
      dueBefore: row.due_before,
      dueAfter: row.due_after,
      key: rowKey(row, KEY_COLUMNS.length),
    }));
  }

  /** Every changed learner matching the search, page by page, for the CSV download. */
  allChangedLearners(bulkActionId: number, q: string, pageSize = 2000): AsyncGenerator<ChangedLearnerRow[]> {
    return readAllPages((page, limit) => this.changedLearners(bulkActionId, q, page, limit), pageSize);
  }
}
