import { Injectable, NotFoundException } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { PageQuery } from '../common/keyset';
import { KeysetPage, readPage } from '../common/listing';
import { isUniqueViolation, RuleError } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { pageTitle } from '../common/view-helpers';
import { textArray } from '../common/sql';
import { CertificationTab, certificationTabs, TabLink, TAB_NAMES } from './certification-tabs';
import type { CertificationInput } from './certifications.dto';

export interface Certification extends CertificationInput {
  id: number;
  certificationMinDays: number;
  recertificationMinDays: number;
}

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
  /** "Tab – Certification full name – Certex", with "Error: " when the page shows form errors. */
  title(hasErrors?: boolean, tabLabel?: string): string;
}

const COLUMNS = `id, full_name as "fullName", short_name as "shortName", id_number as "idNumber", summary,
  active_period_amount as "activePeriodAmount", active_period_unit as "activePeriodUnit",
  window_period_amount as "windowPeriodAmount", window_period_unit as "windowPeriodUnit",
  recertification_base as "recertificationBase", realistic_buffer_days as "realisticBufferDays",
  certification_min_days as "certificationMinDays", recertification_min_days as "recertificationMinDays",
  notice_recipients as "noticeRecipients"`;

const SHORT_NAME_TAKEN = 'There is already a certification with this short name';
const ID_NUMBER_TAKEN = 'There is already a certification with this ID number';

@Injectable()
export class CertificationsService {
  constructor(
    private readonly em: EntityManager,
    private readonly urls: UrlBuilder,
  ) {}

  /** One page of certifications by full name, with active learners and open exceptions. */
  async list(page: PageQuery): Promise<KeysetPage<CertificationListRow>> {
    // Certifications are made by hand, a few hundred at most: counting them is cheap.
    const [{ n }] = await this.em.getConnection().execute(`select count(*)::int as n from certification`);
    return readPage<CertificationListRow>((sql, params) => this.em.getConnection().execute(sql, params), {
      total: n,
      select: `select c.id, c.full_name as "fullName", c.short_name as "shortName", lower(c.full_name) as "sortName",
                 (select count(*) from membership m where m.certification_id = c.id and m.removed_at is null)::int as learners,
                 (select coalesce(sum(n), 0) from exception_open_count o where o.certification_id = c.id)::int as "openExceptions"
               from certification c where {where} order by {orderBy}`,
      keyColumns: ['lower(c.full_name)', 'c.id'],
      direction: 'asc',
      page,
      keyOf: (row) => [row.sortName, row.id],
      hrefFor: (param) => this.urls.withQuery('/certifications', param),
    });
  }

  async get(id: number): Promise<Certification | null> {
    const [row] = await this.em.getConnection().execute<Certification[]>(`select ${COLUMNS} from certification where id = ?`, [id]);
    return row ?? null;
  }

  async openExceptionCount(id: number): Promise<number> {
    const [row] = await this.em
      .getConnection()
      .execute<Array<{ n: number }>>(`select coalesce(sum(n), 0)::int as n from exception_open_count where certification_id = ?`, [id]);
    return row.n;
  }

  /** Loads a certification for one of its tabs (404 when there is none). Later tabs use this too. */
  async page(id: number, tab: CertificationTab): Promise<CertificationPage> {
    const certification = await this.get(id);
    if (!certification) throw new NotFoundException();
    const openExceptions = await this.openExceptionCount(id);
    return {
      certification,
      openExceptions,
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
    const conn = this.em.getConnection();
    const [clash] = await conn.execute<Array<{ short: boolean; idn: boolean }>>(
      `select bool_or(lower(short_name) = lower(?)) as short, bool_or(id_number = ?) as idn
         from certification where id <> ? and (lower(short_name) = lower(?) or id_number = ?)`,
      [input.shortName, input.idNumber, id ?? 0, input.shortName, input.idNumber],
    );
    if (clash?.short) throw new RuleError('shortName', SHORT_NAME_TAKEN);
    if (clash?.idn) throw new RuleError('idNumber', ID_NUMBER_TAKEN);
    const values = [
      input.fullName,
      input.shortName,
      input.idNumber,
      input.summary,
      input.activePeriodAmount,
      input.activePeriodUnit,
      input.windowPeriodAmount,
      input.windowPeriodUnit,
      input.recertificationBase,
      input.realisticBufferDays,
      textArray(input.noticeRecipients),
    ];
    try {
      if (id === null) {
        const [row] = await conn.execute<Array<{ id: number }>>(
          `insert into certification (full_name, short_name, id_number, summary, active_period_amount, active_period_unit,
                                      window_period_amount, window_period_unit, recertification_base, realistic_buffer_days,
                                      notice_recipients)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::text[]) returning id`,
          values,
        );
        return row.id;
      }
      await conn.execute(
        `update certification set full_name = ?, short_name = ?, id_number = ?, summary = ?, active_period_amount = ?,
                active_period_unit = ?, window_period_amount = ?, window_period_unit = ?, recertification_base = ?,
                realistic_buffer_days = ?, notice_recipients = ?::text[], updated_at = now()
          where id = ?`,
        [...values, id],
      );
      return id;
    } catch (error) {
      // Two admins saving the same name at once: the unique index decides.
      if (isUniqueViolation(error)) {
        throw String((error as Error).message).includes('id_number')
          ? new RuleError('idNumber', ID_NUMBER_TAKEN)
          : new RuleError('shortName', SHORT_NAME_TAKEN);
      }
      throw error;
    }
  }
}
