import { ConsoleLogger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { StaffService } from './auth/staff.service';
import { AppConfig } from './config/config';
import { APP_CONFIG } from './config/config.module';
import { checkRedis, ensureDatabase, migrate } from './database/database';
import { SessionPool } from './database/session-pool';
import { importLegacyExceptions, insertDemoData, isEmpty } from './database/seeders/demo';
import { MembershipSyncService } from './assignments/sync/membership-sync.service';
import { LifecycleService } from './lifecycle/lifecycle.service';
import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';

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
  const orm = app.get(MikroORM);
  await RequestContext.create(orm.em, () =>
    app.get(StaffService).ensureFirstAdmin(config.adminUsername, config.adminPassword, config.adminEmail),
  );
}

/**
 * On a first start (no learners, no certifications) loads the demo data, then runs the real
 * membership sync and lifecycle over it. Returns whether it loaded anything.
 */
export async function loadDemoData(app: NestExpressApplication): Promise<boolean> {
  const em = app.get(MikroORM).em.fork() as EntityManager;
  if (!(await isEmpty(em))) return false;
  await insertDemoData(em, app.get<AppConfig>(APP_CONFIG).siteTimeZone);
  await app.get(MembershipSyncService).syncAll('demo data');
  await app.get(LifecycleService).completionCheck(null);
  await app.get(LifecycleService).runSteps(new Date());
  await importLegacyExceptions(em.fork());
  return true;
}
