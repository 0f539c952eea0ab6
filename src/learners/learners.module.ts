import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';

@Module({})
export class LearnersModule {
  static register(config: AppConfig): DynamicModule {
    void config;
    return { module: LearnersModule, controllers: [], providers: [], exports: [] };
  }
}
