import { Module } from '@nestjs/common';
import { AudiencesController } from './audiences.controller';
import { AudiencesService } from './audiences.service';
import { LearnerImportService } from './learner-import.service';
import { LearnersController } from './learners.controller';
import { LearnersService } from './learners.service';
import { ExceptionRecordsModule } from '../exceptions/exception-records.module';

/** Learners and audiences: pages, forms and CSV uploads. */
@Module({
  imports: [ExceptionRecordsModule],
  controllers: [LearnersController, AudiencesController],
  providers: [LearnersService, AudiencesService, LearnerImportService],
  exports: [LearnersService, AudiencesService],
})
export class LearnersModule {}
