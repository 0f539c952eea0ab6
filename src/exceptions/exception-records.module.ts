import { Module } from '@nestjs/common';
import { BulkActionDraftsService } from './bulk-action-drafts.service';
import { ExceptionReportService } from './exception-report.service';
import { LearnerExceptionsService } from './learner-exceptions.service';

/**
 * Reading exceptions and preparing actions on them: what the Exception report, a learner's page
 * and a bulk action's page share. Needs no queue, so any module can import it.
 */
@Module({
  providers: [ExceptionReportService, BulkActionDraftsService, LearnerExceptionsService],
  exports: [ExceptionReportService, BulkActionDraftsService, LearnerExceptionsService],
})
export class ExceptionRecordsModule {}
