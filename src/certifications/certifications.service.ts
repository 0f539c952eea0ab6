import { Injectable, NotFoundException } from '@nestjs/common';
import type { EntityDTO } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { PageQuery, PageRead } from '../common/keyset';
import { KeysetPage, readKeysetPage } from '../common/listing';
import { isUniqueViolation, RuleError } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { pageTitle } from '../common/view-helpers';
import { entityColumnNames, entityColumns, quotedIdentifier } from '../database/entity-columns';
import { Sql, sql, SqlRunner } from '../database/sql';
import { Certification as CertificationEntity } from './certification.entity';
import { CertificationTab, certificationTabs, TabLink, TAB_NAMES } from './certification-tabs';
import type { CertificationInput } from './certifications.dto';
import type { ExceptionType } from '../exceptions/exception-rules';
import type { ReportState } from '../reports/report-states';

/** A certification as its pages read it: a plain copy, so a failed save leaves what the page shows. */
export type Certification = EntityDTO<CertificationEntity>;

export interface CertificationListRow {
  id: number;
  fullName: string;
  shortName: string;
  learners: number;
  openExceptions: number;
  sortName: string;
}

/** What every certification page shows above its content: the certification, its tabs and the title. */
export interface CertificationPage {
  certification: Certification;
  tabs: TabLink[];
  openExceptions: number;
  /** The open exceptions by type, types with none left out. */
  openByType: Partial<Record<ExceptionType, number>>;
  /** The active members by report state, states with none left out. */
  membersByState: Partial<Record<ReportState, number>>;
  /** Whether a bulk action of this certification is queued or running (the Exception report then lists them). */
  bulkActionsUnfinished: boolean;
  /** "Tab – Certification full name – Certex", with "Error: " when the page shows form errors. */
  title(hasErrors?: boolean, tabLabel?: string): string;
}

/** Which of the two unique values another certification already has. */
interface ClashRow {
  short: boolean | null;
  idn: boolean | null;
}

/** A certification with what its tabs' header shows. */
type HeaderRow = Certification & Pick<CertificationPage, 'openByType' | 'membersByState' | 'bulkActionsUnfinished'>;

/** A value of the header: the SQL that reads it from certification `c`, and its name. */
interface HeaderColumn {
  expression: string;
  name: keyof HeaderRow;
  /** A timestamp, which the header's JSON gives as text. */
  isDate: boolean;
}

const SHORT_NAME_TAKEN = 'There is already a certification with this short name';
const ID_NUMBER_TAKEN = 'There is already a certification with this ID number';

@Injectable()
export class CertificationsService {
  private readonly db: SqlRunner;
  private certificationColumns: Sql | null = null;
  private headerColumns: HeaderColumn[] | null = null;

  constructor(
    private readonly em: EntityManager,
    private readonly urls: UrlBuilder,
  ) {
    this.db = new SqlRunner(em);
  }

  /** One page of certifications by full name, with active learners and open exceptions. */
  async list(page: PageQuery): Promise<KeysetPage<CertificationListRow>> {
    // Certifications are made by hand, a few hundred at most: counting them is cheap.
    const total = await this.em.count(CertificationEntity, {});
    return readKeysetPage<CertificationListRow>(this.db, {
      total,
      select: (keyset) => sql`select c.id, c.full_name as "fullName", c.short_name as "shortName", lower(c.full_name) as "sortName",
                 (select count(*) from membership m where m.certification_id = c.id and m.removed_at is null)::int as learners,
                 (select coalesce(sum(n), 0) from exception_open_count o where o.certification_id = c.id)::int as "openExceptions"
               from certification c where ${keyset.where} order by ${keyset.orderBy}`,
      keyColumns: ['lower(c.full_name)', 'c.id'],
      direction: 'asc',
      page,
      keyOf: (row) => [row.sortName, row.id],
      hrefFor: (param) => this.urls.withQuery('/certifications', param),
    });
  }

  async get(id: number): Promise<Certification | null> {
    return (await this.db.one<Certification>(sql`select ${this.columns()} from certification c where c.id = ${id}`)) ?? null;
  }

  private columns(): Sql {
    this.certificationColumns ??= entityColumns(this.em, CertificationEntity, 'c');
    return this.certificationColumns;
  }

  /** What a tab's header reads of certification `c`: each expression, the name it is read as, and whether it is a timestamp. */
  private headerExpressions(): HeaderColumn[] {
    this.headerColumns ??= [
      ...entityColumnNames(this.em, CertificationEntity).map(({ column, property, isDate }) => ({
        expression: `c.${quotedIdentifier(column)}`,
        name: property as keyof HeaderRow,
        isDate,
      })),
      {
        expression: `(select coalesce(json_object_agg(o.type, o.n), '{}') from exception_open_count o where o.certification_id = c.id and o.n > 0)`,
        name: 'openByType',
        isDate: false,
      },
      {
        expression: `(select coalesce(json_object_agg(s.report_state, s.n), '{}') from membership_state_count s where s.certification_id = c.id and s.n > 0)`,
        name: 'membersByState',
        isDate: false,
      },
      {
        expression: `exists (select 1 from bulk_action b where b.certification_id = c.id and b.state in ('queued', 'running'))`,
        name: 'bulkActionsUnfinished',
        isDate: false,
      },
    ];
    return this.headerColumns;
  }

  /** Loads a certification for one of its tabs (404 when there is none). Later tabs use this too. */
  async page(id: number, tab: CertificationTab): Promise<CertificationPage> {
    const select = this.headerExpressions().map(({ expression, name }) => `${expression} as ${quotedIdentifier(name)}`);
    const row = await this.db.one<Record<string, unknown>>(
      sql`select ${sql.raw(select.join(', '))} from certification c where c.id = ${id}`,
    );
    if (!row) throw new NotFoundException();
    return this.certificationPage(row, tab);
  }

  /**
   * A tab's header and its page of rows in one statement, a round trip fewer for every report
   * page. The header comes as one JSON value on the first row only (every other row's is null);
   * a certification with no rows to show still gives that one row, with no page_row (404 when
   * there is no certification).
   */
  async pageWithRows<Row>(id: number, tab: CertificationTab, read: PageRead<Row>): Promise<{ page: CertificationPage; rows: Row[] }> {
    const columns = this.headerExpressions();
    const header = columns.map(({ expression, name }) => `'${name}', ${expression}`).join(', ');
    const rows = await this.db.rows<Record<string, unknown> & { page_header: Record<string, unknown> | null; page_row: string | null }>(
      sql`select case when coalesce(r.page_row, 1) = 1 then json_build_object(${sql.raw(header)}) end as page_header, r.*
            from certification c
            left join (${read.statement}) r on true
           where c.id = ${id}
           order by r.page_row`,
    );
    const values = rows[0]?.page_header;
    if (!values) throw new NotFoundException();
    return { page: this.certificationPage(values, tab), rows: rows[0].page_row === null ? [] : read.rows(rows) };
  }

  /** A tab's page from the header's values as read, its timestamps (text in the header's JSON) made Dates. */
  private certificationPage(values: Record<string, unknown>, tab: CertificationTab): CertificationPage {
    for (const { name, isDate } of this.headerExpressions()) {
      if (isDate && typeof values[name] === 'string') values[name] = new Date(values[name]);
    }
    const { openByType, membersByState, bulkActionsUnfinished, ...certification } = values as unknown as HeaderRow;
    const openExceptions = Object.values(openByType).reduce((sum, n) => sum + n, 0);
    return {
      certification,
      openExceptions,
      openByType,
      membersByState,
      bulkActionsUnfinished,
      tabs: certificationTabs(this.urls, certification, tab, openExceptions),
      title: (hasErrors = false, tabLabel = TAB_NAMES[tab]) => pageTitle([tabLabel, certification.fullName], hasErrors),
    };
  }

  async create(input: CertificationInput): Promise<number> {
    return this.save(null, input);
  }

  async update(id: number, input: CertificationInput): Promise<void> {
    await this.save(id, input);
  }

  private async save(id: number | null, input: CertificationInput): Promise<number> {
    const clash = await this.db.one<ClashRow>(
      sql`select bool_or(lower(short_name) = lower(${input.shortName})) as short, bool_or(id_number = ${input.idNumber}) as idn
            from certification
           where id <> ${id ?? 0} and (lower(short_name) = lower(${input.shortName}) or id_number = ${input.idNumber})`,
    );
    if (clash?.short) throw new RuleError('shortName', SHORT_NAME_TAKEN);
    if (clash?.idn) throw new RuleError('idNumber', ID_NUMBER_TAKEN);
    // A unit of work of its own: the page's copy keeps what was read if the save fails.
    const em = this.em.fork();
    const certification =
      id === null
        ? em.create(CertificationEntity, {
            ...input,
            certificationMinDays: 0,
            recertificationMinDays: 0,
            createdAt: new Date(),
            updatedAt: new Date(),
          })
        : em.assign(await em.findOneOrFail(CertificationEntity, id), { ...input, updatedAt: new Date() });
    try {
      await em.flush();
      return certification.id;
    } catch (error) {
      // Two admins saving the same name at once: the unique index decides.
      if (isUniqueViolation(error)) {
        throw String((error as Error).message).includes('certification_id_number_unique')
          ? new RuleError('idNumber', ID_NUMBER_TAKEN)
          : new RuleError('shortName', SHORT_NAME_TAKEN);
      }
      throw error;
    }
  }
}
