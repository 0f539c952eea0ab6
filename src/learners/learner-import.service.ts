import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { isUniqueViolation } from '../common/rule-error';
import { inTransaction, sql } from '../database/sql';
import { formatNumber, plural } from '../common/view-helpers';
import { JobRequests } from '../jobs/job-requests.service';
import { CsvColumn, CsvFailure, ErrorList, readCsvUpload, StagedRows, UploadedCsv } from './csv-upload';
import { learnerFieldProblem, MESSAGES } from './learner-rules';

/** What an upload did: a message for the success banner, or why nothing was changed. */
export type ImportOutcome = { ok: true; message: string } | CsvFailure;

/** A checked member upload: the token of its pending rows, or why the file was refused. */
export type MemberUploadCheck = { ok: true; token: string } | CsvFailure;

/** How long a checked member upload waits for its Save. */
export const PENDING_UPLOAD_LIFETIME = '1 hour';

export const LEARNER_CSV_COLUMNS: CsvColumn[] = [
  {
    name: 'id_number',
    required: true,
    description:
      'The learner’s ID number (employee number): letters, digits and . _ / -, up to 100 characters. A learner with this ID number is updated; otherwise one is added.',
  },
  { name: 'username', required: true, description: 'Letters, digits and . _ @ -, up to 100 characters; no two learners may share one.' },
  { name: 'first_name', required: true, description: 'Up to 100 characters.' },
  { name: 'last_name', required: true, description: 'Up to 100 characters.' },
  { name: 'email', required: true, description: 'An email address like name@example.org.' },
  { name: 'hire_date', required: false, description: 'A date written YYYY-MM-DD. Empty keeps the hire date Certex has.' },
  { name: 'suspended', required: false, description: 'yes or no. Empty keeps what Certex has (no for a new learner).' },
];

export const MEMBER_CSV_COLUMNS: CsvColumn[] = [
  {
    name: 'id_number',
    required: true,
    description: 'The ID number of a learner Certex already has. Learners already in the audience stay as they are.',
  },
];

/** A row of the file whose value is also on an earlier line (`first`). */
interface RepeatedIdNumberRow {
  line: number;
  id_number: string;
  first: number;
}

interface RepeatedUsernameRow {
  line: number;
  username: string;
  first: number;
}

/** A row whose username belongs to another learner (`id_number`). */
interface UsernameClashRow {
  line: number;
  username: string;
  id_number: string;
}

interface UnknownIdNumberRow {
  line: number;
  id_number: string;
}

interface CountRow {
  count: number;
}

const NOTHING_CHANGED = 'Another change to learners was saved at the same moment, so nothing was changed. Upload the file again.';

@Injectable()
export class LearnerImportService {
  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
  ) {}

  /**
   * Learners: upsert by ID number. Every row is checked before anything is written; rows go to a
   * temporary table as the file is read, so a large file is never held in memory.
   */
  async importLearners(file: UploadedCsv | undefined): Promise<ImportOutcome> {
    try {
      const result = await inTransaction(this.em, async (db) => {
        const staged = new StagedRows(
          db,
          'learner_import',
          'line integer, id_number text, username text, first_name text, last_name text, email text, hire_date text, suspended text',
        );
        await staged.create();
        const errors = new ErrorList();
        const read = await readCsvUpload(file, LEARNER_CSV_COLUMNS, ({ line, values }, header) => {
          for (const column of header) {
            const problem = learnerFieldProblem(column, values[column]);
            if (problem) errors.add(line, column, problem);
          }
          if (errors.full) return false;
          return staged.add({ line, ...values });
        });
        if (!read.ok) return read;
        await staged.flush();
        const duplicateIds = await db.rows<RepeatedIdNumberRow>(sql`select line, id_number, first from (
             select line, id_number, min(line) over (partition by id_number) as first from learner_import where id_number <> '') d
            where line <> first order by line limit 10000`);
        for (const d of duplicateIds) errors.add(d.line, 'id_number', `ID number ${d.id_number} is also on line ${d.first}`);
        const duplicateUsernames = await db.rows<RepeatedUsernameRow>(sql`select line, username, first from (
             select line, username, min(line) over (partition by lower(username)) as first from learner_import where username <> '') d
            where line <> first order by line limit 10000`);
        for (const d of duplicateUsernames) errors.add(d.line, 'username', `Username ${d.username} is also on line ${d.first}`);
        if (!errors.empty) return errors.failure();

        // Every value is valid now: an empty hire date or suspended keeps what Certex has.
        await db.run(sql`alter table learner_import
             alter column hire_date type date using nullif(hire_date, '')::date,
             alter column suspended type boolean using case lower(suspended) when 'yes' then true when 'no' then false end`);
        await db.run(sql`analyze learner_import`);

        // A username may not move to this file's learner from another learner.
        const clashes = await db.rows<UsernameClashRow>(sql`select f.line, f.username, l.id_number
             from learner_import f join learner l on lower(l.username) = lower(f.username) and l.id_number <> f.id_number
            order by f.line limit 10000`);
        if (clashes.length > 0) {
          const clashErrors = new ErrorList();
          for (const c of clashes)
            clashErrors.add(c.line, 'username', `Username ${c.username} belongs to the learner with ID number ${c.id_number}`);
          return clashErrors.failure();
        }

        const [updated] = await db.rows<CountRow>(sql`with changed as (
             update learner l set username = f.username, first_name = f.first_name, last_name = f.last_name, email = f.email,
                    hire_date = coalesce(f.hire_date, l.hire_date), suspended = coalesce(f.suspended, l.suspended), updated_at = now()
               from learner_import f
              where l.id_number = f.id_number
                and (l.username, l.first_name, l.last_name, l.email, l.hire_date, l.suspended)
                    is distinct from (f.username, f.first_name, f.last_name, f.email, coalesce(f.hire_date, l.hire_date), coalesce(f.suspended, l.suspended))
             returning 1)
           select count(*)::int as count from changed`);
        const [added] = await db.rows<CountRow>(sql`with inserted as (
             insert into learner (id_number, username, first_name, last_name, email, hire_date, suspended)
             select f.id_number, f.username, f.first_name, f.last_name, f.email, f.hire_date, coalesce(f.suspended, false)
               from learner_import f
              where not exists (select 1 from learner l where l.id_number = f.id_number)
             returning 1)
           select count(*)::int as count from inserted`);
        return { ok: true as const, rows: read.rows, added: added.count, updated: updated.count };
      });
      if (!result.ok) return result;
      const unchanged = result.rows - result.added - result.updated;
      if (result.added + result.updated > 0) await this.jobs.requestSync(null, 'learners uploaded');
      return {
        ok: true,
        message: `${plural(result.added, 'learner')} added, ${formatNumber(result.updated)} updated, ${formatNumber(unchanged)} unchanged`,
      };
    } catch (error) {
      if (isUniqueViolation(error)) return { ok: false, fileError: NOTHING_CHANGED };
      throw error;
    }
  }

  /** Audience members: adds the learners named by ID number, staged like learners. */
  /**
   * Checks an audience member upload whole and, when every row is right, keeps the learners it
   * names as a pending upload of this administrator for its preview's Save (MemberUploadService);
   * nothing of the audience changes here.
   */
  async checkMembers(audienceId: number, file: UploadedCsv | undefined, staffId: number): Promise<MemberUploadCheck> {
    return inTransaction(this.em, async (db) => {
      const staged = new StagedRows(db, 'member_import', 'line integer, id_number text');
      await staged.create();
      const errors = new ErrorList();
      const read = await readCsvUpload(file, MEMBER_CSV_COLUMNS, ({ line, values }) => {
        const idNumber = values.id_number;
        if (!idNumber) errors.add(line, 'id_number', MESSAGES.idNumberMissing);
        else if (idNumber.length > 100) errors.add(line, 'id_number', MESSAGES.idNumberLength);
        if (errors.full) return false;
        return staged.add({ line, id_number: idNumber });
      });
      if (!read.ok) return read;
      await staged.flush();
      const duplicates = await db.rows<RepeatedIdNumberRow>(sql`select line, id_number, first from (
           select line, id_number, min(line) over (partition by id_number) as first
             from member_import where id_number <> '' and length(id_number) <= 100) d
          where line <> first order by line limit 10000`);
      for (const d of duplicates) errors.add(d.line, 'id_number', `ID number ${d.id_number} is also on line ${d.first}`);
      if (!errors.empty) return errors.failure();

      await db.run(sql`analyze member_import`);
      const unknown = await db.rows<UnknownIdNumberRow>(sql`select f.line, f.id_number from member_import f
          where not exists (select 1 from learner l where l.id_number = f.id_number)
          order by f.line limit 10000`);
      if (unknown.length > 0) {
        const unknownErrors = new ErrorList();
        for (const u of unknown) unknownErrors.add(u.line, 'id_number', `There is no learner with ID number ${u.id_number}`);
        return unknownErrors.failure();
      }
      const pending = (await db.one<{ token: string }>(sql`insert into pending_member_upload (audience_id, staff_id, file_rows, expires_at)
           values (${audienceId}, ${staffId}, ${read.rows}, now() + ${PENDING_UPLOAD_LIFETIME}::interval) returning token`))!;
      await db.run(sql`insert into pending_member_upload_learner (token, learner_id)
           select ${pending.token}::uuid, l.id from member_import f join learner l on l.id_number = f.id_number
           on conflict do nothing`);
      return { ok: true as const, token: pending.token };
    });
  }
}
