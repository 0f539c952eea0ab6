import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { csvDate, streamCsv, zonedHeader } from '../common/csv-export';
import { readerZone } from '../common/http';
import { daysSince } from '../common/time-zone';
import { IdPipe } from '../common/id.pipe';
import { CertificationsService } from '../certifications/certifications.service';
import { describeEvidence } from './evidence';
import { TYPE_LABELS } from './exception-rules';
import { ExceptionReportService, parseView, ReportRow } from './exception-report.service';

/**
 * The Exception report's CSV: every open exception the report's search, type and age filters and order
 * show, streamed a keyset page at a time (a million rows never sit in memory). Each row's details
 * are worked out as on the page, from today.
 */
@Controller('certifications/:id')
export class ExceptionReportCsvController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly report: ExceptionReportService,
  ) {}

  @Get('exceptions.csv')
  async csv(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const page = await this.certifications.page(id, 'exceptions'); // 404 for an unknown certification
    const zone = readerZone(res);
    const now = new Date();
    const view = parseView(query, zone, now);
    // Many exceptions share their evidence (a due date, a rule, the courses shared): each distinct
    // one is worked out once per download.
    const details = new Map<string, string>();
    const describe = (row: ReportRow) => {
      const key = `${row.type}\u0000${row.summary}\u0000${JSON.stringify(row.evidence)}`;
      let text = details.get(key);
      if (text === undefined) {
        text = describeEvidence(row.type, row.evidence, now, row.summary, zone);
        if (details.size >= 10_000) details.clear();
        details.set(key, text);
      }
      return text;
    };
    const header = ['Learner', 'ID number', 'Issue', 'Details', zonedHeader('Raised', zone), 'Age (days)'];
    await streamCsv(res, `exception-report-${page.certification.shortName}.csv`, header, this.report.allRows(id, view), (row) => [
      `${row.firstName} ${row.lastName}`,
      row.idNumber,
      TYPE_LABELS[row.type],
      describe(row),
      csvDate(row.raisedAt, zone),
      String(daysSince(row.raisedAt, now, zone)),
    ]);
  }
}
