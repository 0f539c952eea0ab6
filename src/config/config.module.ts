import { DynamicModule, Module, Type } from '@nestjs/common';
import { UrlBuilder } from '../common/url';
import { AppConfig } from './config';
import { WorkerRegistry } from '../jobs/worker-registry';

export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * One dynamic module per (module, config): every feature module that imports another with
 * `register(config)` gets the same object back, so Nest keeps one instance of it however many
 * modules import it. A test that starts two apps in one process gives each its own.
 */
const registered = new WeakMap<AppConfig, Map<Type, DynamicModule>>();

export function registerOnce(module: Type, config: AppConfig, make: () => Omit<DynamicModule, 'module'>): DynamicModule {
  let modules = registered.get(config);
  if (!modules) registered.set(config, (modules = new Map<Type, DynamicModule>()));
  let dynamic = modules.get(module);
  if (!dynamic) modules.set(module, (dynamic = { module, ...make() }));
  return dynamic;
}

/**
 * The settings, the URL builder and the registry of the queues this process works on: imported by
 * every module that reads the settings (every module with a processor does).
 */
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return registerOnce(ConfigModule, config, () => ({
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: UrlBuilder, useValue: new UrlBuilder(config.basePath, config.publicOrigin) },
        WorkerRegistry,
      ],
      exports: [APP_CONFIG, UrlBuilder, WorkerRegistry],
    }));
  }
}
