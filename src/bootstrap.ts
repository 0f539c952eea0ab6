import { ConsoleLogger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { StaffService } from './auth/staff.service';
import { AppConfig } from './config/config';
import { checkRedis, ensureDatabase, migrate } from './database/database';
import { SessionPool } from './database/session-pool';

export function createLogger(config: AppConfig): LoggerService {
  return new ConsoleLogger({ json: config.logFormat === 'json', colors: config.logFormat !== 'json' });
}

/** Builds the whole app for a configuration: used by main.ts and by the tests alike. */
export async function createApp(config: AppConfig, logger: LoggerService | false = createLogger(config)) {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger,
    abortOnError: false,
  });
  await configureApp(app, config, app.get(SessionPool).pool);
  await app.init();
  return app;
}

/** Everything before serving: services reachable, database created and migrated. */
export async function prepareServices(config: AppConfig): Promise<string[]> {
  await ensureDatabase(config.databaseUrl);
  await checkRedis(config.redisUrl);
  return migrate(config.databaseUrl);
}

export async function ensureFirstAdmin(app: NestExpressApplication, config: AppConfig) {
  const { RequestContext, MikroORM } = await import('@mikro-orm/postgresql');
  const orm = app.get(MikroORM);
  await RequestContext.create(orm.em, () => app.get(StaffService).ensureFirstAdmin(config.adminUsername, config.adminPassword));
}
