import { DynamicModule, Module } from '@nestjs/common';
import { AssignmentsModule } from '../assignments/assignments.module';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { ExceptionRecordsModule } from '../exceptions/exception-records.module';
import { JobsModule } from '../jobs/jobs.module';
import { ExemptionsModule } from '../exemptions/exemptions.module';
import { AudiencesController } from './audiences.controller';
import { AudiencesService } from './audiences.service';
import { LearnerImportService } from './learner-import.service';
import { LearnersController } from './learners.controller';
import { LearnersService } from './learners.service';
import { MemberUploadService } from './member-upload.service';

/** Learners and audiences: pages, forms and CSV uploads. */
@Module({})
export class LearnersModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(LearnersModule, config, () => ({
      imports: [
        ConfigModule.forRoot(config),
        JobsModule,
        AssignmentsModule.register(config),
        ExceptionRecordsModule,
        ExemptionsModule.register(config),
      ],
      controllers: [LearnersController, AudiencesController],
      providers: [LearnersService, AudiencesService, LearnerImportService, MemberUploadService],
      exports: [LearnersService, AudiencesService],
    }));
  }
}
