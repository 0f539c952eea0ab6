import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { AudiencesController } from './audiences.controller';
import { AudiencesService } from './audiences.service';
import { LearnerImportService } from './learner-import.service';
import { LearnersController } from './learners.controller';
import { LearnersService } from './learners.service';

/** Learners and audiences: pages, forms and CSV uploads. */
@Module({})
export class LearnersModule {
  static register(config: AppConfig): DynamicModule {
    void config;
    return {
      module: LearnersModule,
      controllers: [LearnersController, AudiencesController],
      providers: [LearnersService, AudiencesService, LearnerImportService],
      exports: [LearnersService, AudiencesService],
    };
  }
}
