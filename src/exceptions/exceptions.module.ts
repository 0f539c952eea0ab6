import { DynamicModule, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bull';
import { CertificationsModule } from '../certifications/certifications.module';
import { workerOnly } from '../common/process-role';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { BULK_ACTIONS_QUEUE } from '../jobs/queues';
import { NotificationsModule } from '../notifications/notifications.module';
import { BulkActionsController } from './bulk-actions.controller';
import { BulkActionsProcessor } from './bulk-actions.processor';
import { BulkActionsService } from './bulk-actions.service';
import { BulkActionItemsService } from './bulk-action-items';
import { BulkActionQueriesService } from './bulk-action-queries.service';
import { ExceptionReportController } from './exception-report.controller';
import { ExceptionReportCsvController } from './exception-report-csv.controller';
import { ExceptionRecordsModule } from './exception-records.module';
import { ExceptionPolicyController } from './exception-policy.controller';
import { ExceptionsOverviewController } from './exceptions-overview.controller';
import { ExceptionsOverviewService } from './exceptions-overview.service';

@Module({})
export class ExceptionsModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(ExceptionsModule, config, () => ({
      imports: [
        ConfigModule.forRoot(config),
        CertificationsModule.register(config),
        NotificationsModule.register(config),
        ExceptionRecordsModule,
        BullModule.registerQueue({
          name: BULK_ACTIONS_QUEUE,
          // A worker that dies loses its lock within seconds, and another worker carries the job on.
          settings: { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 20 },
        }),
      ],
      controllers: [
        ExceptionReportController,
        ExceptionReportCsvController,
        BulkActionsController,
        ExceptionsOverviewController,
        ExceptionPolicyController,
      ],
      providers: [
        BulkActionsService,
        BulkActionQueriesService,
        BulkActionItemsService,
        ExceptionsOverviewService,
        ...workerOnly(config.processRole, BulkActionsProcessor),
      ],
      exports: [ExceptionRecordsModule, BulkActionsService],
    }));
  }
}
