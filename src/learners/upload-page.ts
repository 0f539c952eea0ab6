import type { Response } from 'express';
import { fieldError } from '../common/forms';
import { AppRequest, flash, renderPage, seeOther } from '../common/http';
import { pageTitle, plural } from '../common/view-helpers';
import { CsvColumn, csvErrorText, CsvFailure, ERRORS_SHOWN } from './csv-upload';
import type { ImportOutcome } from './learner-import.service';

export interface UploadPage {
  heading: string;
  /** Title parts after the heading, e.g. ['Learners']. */
  section: string[];
  intro: string;
  action: string;
  /** Also where a successful upload goes. */
  backHref: string;
  backLabel: string;
  columns: CsvColumn[];
  exampleRows: string[];
}

/**
 * The upload page, used by all three uploads (views/learners/upload.hbs). With a failed outcome it
 * shows why: a problem with the file itself, or every row error (the first 100, then a count).
 */
export function renderUploadPage(res: Response, page: UploadPage, outcome?: CsvFailure): void {
  let summary: string | undefined;
  let rowErrors: string[] = [];
  let notShown = 0;
  if (outcome && 'fileError' in outcome) summary = outcome.fileError;
  if (outcome && 'errors' in outcome) {
    summary = `The file has ${plural(outcome.total, 'error')}. Nothing was changed: correct the file and upload it again.`;
    rowErrors = outcome.errors.slice(0, ERRORS_SHOWN).map(csvErrorText);
    notShown = outcome.total - rowErrors.length;
  }
  // Problems in the rows are listed below the summary, which leads to that list, not to the file field.
  const errors = summary
    ? [rowErrors.length > 0 ? { field: 'file', href: '#file-problems', message: summary } : fieldError('file', summary)]
    : [];
  renderPage(
    res,
    'learners/upload',
    {
      title: pageTitle([page.heading, ...page.section], errors.length > 0),
      ...page,
      columns: page.columns.map((c) => ({ ...c, requirement: c.required ? 'Required' : 'Optional' })),
      exampleHeader: page.columns.map((c) => c.name).join(','),
      errors,
      fileError: summary,
      rowErrors,
      notShown: notShown > 0 ? `${plural(notShown, 'more error')} not shown.` : undefined,
    },
    outcome ? 400 : 200,
  );
}

/** Answers an upload: the page again saying why it failed, or back where it came from with the outcome. */
export function answerUpload(req: AppRequest, res: Response, page: UploadPage, outcome: ImportOutcome): void {
  if (!outcome.ok) return renderUploadPage(res, page, outcome);
  flash(req, outcome.message);
  seeOther(res, page.backHref);
}
