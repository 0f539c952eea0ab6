import { DynamicModule, Global, Module } from '@nestjs/common';
import { UrlBuilder } from '../common/url';
import { AppConfig } from './config';

export const APP_CONFIG = Symbol('APP_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: UrlBuilder, useValue: new UrlBuilder(config.basePath, config.publicOrigin) },
      ],
      exports: [APP_CONFIG, UrlBuilder],
    };
  }
}
