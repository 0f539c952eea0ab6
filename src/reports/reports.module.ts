import { DynamicModule, Module } from '@nestjs/common';
import { CertificationsModule } from '../certifications/certifications.module';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { CompletionReportController } from './completion-report.controller';
import { CompletionReportService } from './completion-report.service';
import { MembershipReportController } from './membership-report.controller';
import { MembershipReportService } from './membership-report.service';

/** The certification reports: Completion report and Membership report, with their CSV downloads. */
@Module({})
export class ReportsModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(ReportsModule, config, () => ({
      imports: [ConfigModule.forRoot(config), CertificationsModule.register(config)],
      controllers: [CompletionReportController, MembershipReportController],
      providers: [CompletionReportService, MembershipReportService],
      exports: [CompletionReportService, MembershipReportService],
    }));
  }
}
