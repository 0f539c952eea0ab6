import { DynamicModule, Module } from '@nestjs/common';
import { AssignmentsModule } from '../assignments/assignments.module';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { JobsModule } from '../jobs/jobs.module';
import { CompletionImportService } from './completion-import.service';
import { CoursesController } from './courses.controller';
import { CoursesService } from './courses.service';

/** Courses and the course completions upload. */
@Module({})
export class CoursesModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(CoursesModule, config, () => ({
      imports: [ConfigModule.forRoot(config), JobsModule, AssignmentsModule.register(config)],
      controllers: [CoursesController],
      providers: [CoursesService, CompletionImportService],
      exports: [CoursesService],
    }));
  }
}
