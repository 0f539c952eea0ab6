import { Module } from '@nestjs/common';
import { CompletionReportController } from './completion-report.controller';
import { CompletionReportService } from './completion-report.service';
import { MembershipReportController } from './membership-report.controller';
import { MembershipReportService } from './membership-report.service';

/** The certification reports: Completion report and Membership report, with their CSV downloads. */
@Module({
  controllers: [CompletionReportController, MembershipReportController],
  providers: [CompletionReportService, MembershipReportService],
  exports: [CompletionReportService, MembershipReportService],
})
export class ReportsModule {}
