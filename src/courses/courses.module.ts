import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { CompletionImportService } from './completion-import.service';
import { CoursesController } from './courses.controller';
import { CoursesService } from './courses.service';

/** Courses and the course completions upload. */
@Module({})
export class CoursesModule {
  static register(config: AppConfig): DynamicModule {
    void config;
    return {
      module: CoursesModule,
      controllers: [CoursesController],
      providers: [CoursesService, CompletionImportService],
      exports: [CoursesService],
    };
  }
}
