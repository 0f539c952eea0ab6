import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from './config/config';
import { ServiceUnavailableError } from './database/database';
import { createApp, ensureFirstAdmin, loadDemoData, prepareServices } from './bootstrap';

function fail(message: string, code: number): never {
  process.stderr.write(`certex: ${message}\n`);
  process.exit(code);
}

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(`invalid setting: ${error.message}`, 2);
    throw error;
  }
  const logger = new Logger('Certex');
  const applied = await prepareServices(config);
  if (applied.length) logger.log(`Applied migrations: ${applied.join(', ')}`);

  const app = await createApp(config);
  await ensureFirstAdmin(app, config);
  if (config.demoData && (await loadDemoData(app))) logger.log('Loaded the demo data');
  if (config.processRole === 'worker') {
    logger.log('Worker started: processing queues and schedules');
    return;
  }
  await app.listen(config.port);
  const address = `http://localhost:${config.port}${config.basePath}/`;
  logger.log(`Certex is serving at ${address} (role: ${config.processRole})`);
}

main().catch((error) => {
  if (error instanceof ServiceUnavailableError) fail(error.message, 3);
  if (error?.code === 'EADDRINUSE') fail(`port ${error.port} is already in use: set PORT to a free port.`, 3);
  fail(`could not start: ${error?.message ?? error}`, 1);
});
