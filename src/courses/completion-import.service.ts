import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { inTransaction, sql } from '../database/sql';
import { JobRequests } from '../jobs/job-requests.service';
import { AssignmentService } from '../assignments/assignment.service';
import { formatNumber, plural } from '../common/view-helpers';
import { CsvColumn, ErrorList, isIsoDate, readCsvUpload, StagedRows, UploadedCsv } from '../learners/csv-upload';
import { todayIn } from '../common/time-zone';
import { startOfDaySql } from '../lifecycle/period';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { ImportOutcome } from '../learners/learner-import.service';
import { MESSAGES } from '../learners/learner-rules';

export const COMPLETION_CSV_COLUMNS: CsvColumn[] = [
  { name: 'id_number', required: true, description: 'The ID number of a learner Certex already has.' },
  { name: 'course', required: true, description: 'The short name of a course Certex already has.' },
  {
    name: 'completed_on',
    required: true,
    description: 'The day the learner completed the course in the site’s time zone, written YYYY-MM-DD; today or earlier.',
  },
];

/** Above this many learners the completion check looks at everyone instead of a list of ids. */
const LEARNER_LIST_LIMIT = 1000;

/** A completion that is also on an earlier line (`first`). */
interface RepeatedCompletionRow {
  line: number;
  first: number;
}

interface UnknownReferenceRow {
  line: number;
  id_number: string;
  course: string;
  no_learner: boolean;
  no_course: boolean;
}

interface InsertedCompletionsRow {
  count: number;
  /** Null when more learners gained a completion than the check takes as a list. */
  learner_ids: number[] | null;
  course_ids: number[] | null;
}

@Injectable()
export class CompletionImportService {
  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
    private readonly assignments: AssignmentService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Course completions: every row is checked first; completions already recorded are left as they
   * are. Rows go to a temporary table as the file is read, so a file of millions of rows is never
   * held in memory; nothing else is written unless every row passes.
   */
  async importCompletions(file: UploadedCsv | undefined, staffId: number): Promise<ImportOutcome> {
    const result = await inTransaction(this.em, async (db) => {
      const staged = new StagedRows(db, 'completion_import', 'line integer, id_number text, course text, completed_on text');
      await staged.create();
      const errors = new ErrorList();
      const today = todayIn(this.config.siteTimeZone);
      const read = await readCsvUpload(file, COMPLETION_CSV_COLUMNS, ({ line, values }) => {
        const { id_number, course, completed_on } = values;
        if (!id_number) errors.add(line, 'id_number', MESSAGES.idNumberMissing);
        else if (id_number.length > 100) errors.add(line, 'id_number', MESSAGES.idNumberLength);
        if (!course) errors.add(line, 'course', 'Enter the short name of a course');
        else if (course.length > 100) errors.add(line, 'course', 'Course short name must be 100 characters or fewer');
        if (!completed_on) errors.add(line, 'completed_on', 'Enter the completion date');
        else if (!isIsoDate(completed_on))
          errors.add(line, 'completed_on', 'Completion date must be a real date written YYYY-MM-DD, like 2024-03-31');
        else if (completed_on > today) errors.add(line, 'completed_on', 'Completion date must be today or in the past');
        if (errors.full) return false;
        return staged.add({ line, id_number, course, completed_on });
      });
      if (!read.ok) return read;
      await staged.flush();
      const duplicates = await db.rows<RepeatedCompletionRow>(sql`select line, first from (
           select line, min(line) over (partition by id_number, lower(course), completed_on) as first
             from completion_import where id_number <> '' and course <> '' and completed_on <> '') d
          where line <> first order by line limit 10000`);
      for (const d of duplicates) errors.add(d.line, null, `The same completion is also on line ${d.first}`);
      if (!errors.empty) return errors.failure();

      // Every date is valid now: the column becomes a date column.
      await db.run(sql`alter table completion_import alter column completed_on type date using completed_on::date`);
      await db.run(sql`analyze completion_import`);
      const unknown =
        await db.rows<UnknownReferenceRow>(sql`select f.line, f.id_number, f.course, l.id is null as no_learner, c.id is null as no_course
           from completion_import f
           left join learner l on l.id_number = f.id_number
           left join course c on lower(c.short_name) = lower(f.course)
          where l.id is null or c.id is null
          order by f.line limit 10000`);
      if (unknown.length > 0) {
        const found = new ErrorList();
        for (const u of unknown) {
          if (u.no_learner) found.add(u.line, 'id_number', `There is no learner with ID number ${u.id_number}`);
          if (u.no_course) found.add(u.line, 'course', `There is no course with short name ${u.course}`);
        }
        return found.failure();
      }
      const [inserted] = await db.rows<InsertedCompletionsRow>(sql`with inserted as (
           insert into course_completion (learner_id, course_id, completed_at, source, recorded_by)
           select l.id, c.id, ${startOfDaySql(sql.raw('f.completed_on'), this.config.siteTimeZone)}, 'csv', ${staffId}
             from completion_import f
             join learner l on l.id_number = f.id_number
             join course c on lower(c.short_name) = lower(f.course)
           on conflict (learner_id, course_id, completed_at) do nothing
           returning learner_id, course_id)
         select count(*)::int as count,
                case when count(distinct learner_id) <= ${LEARNER_LIST_LIMIT} then array_agg(distinct learner_id) end as learner_ids,
                array_agg(distinct course_id) as course_ids
           from inserted`);
      return {
        ok: true as const,
        rows: read.rows,
        added: inserted.count,
        learnerIds: inserted.learner_ids,
        courseIds: inserted.course_ids ?? [],
      };
    });
    if (!result.ok) return result;
    if (result.added > 0) {
      await this.jobs.requestCompletionCheck(result.learnerIds ?? null, 'course completions uploaded');
      await this.assignments.requestSyncsAfterCompletions(result.courseIds, 'course completions uploaded');
    }
    const already = result.rows - result.added;
    return {
      ok: true,
      message: `${plural(result.added, 'course completion')} recorded, ${formatNumber(already)} already recorded`,
    };
  }
}
