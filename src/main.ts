import 'reflect-metadata';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { AppConfig, ConfigError, loadConfig } from './config/config';
import { ServiceUnavailableError } from './database/database';
import { createApp, ensureFirstAdmin, loadDemoData, prepareServices } from './bootstrap';
import { WorkerHealth } from './health/worker-health';
import { closeWaitingServer, startWaitingServer, WaitedService } from './waiting-server';
import { errorCode, errorFields, errorMessage } from './common/error-fields';

const RETRY_INTERVAL_MS = 2000;

function fail(message: string, code: number): never {
  process.stderr.write(`certex: ${message}\n`);
  process.exit(code);
}

/**
 * Prepares PostgreSQL and Redis, waiting up to SERVICE_WAIT_SECONDS for one that is down or not
 * reachable yet (saying so once per service); meanwhile a web process answers 503 on its port.
 */
async function prepareWhenReachable(config: AppConfig): Promise<{ applied: string[]; waitingServer: Server | null }> {
  const giveUpAt = Date.now() + config.serviceWaitSeconds * 1000;
  let waitingFor: WaitedService = 'PostgreSQL';
  let waitingServer: Server | null = null;
  let lastMessage = '';
  for (;;) {
    try {
      return { applied: await prepareServices(config), waitingServer };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableError) || !error.mayRecover || Date.now() >= giveUpAt) throw error;
      waitingFor = error.message.includes('Redis') ? 'Redis' : 'PostgreSQL';
      if (error.message !== lastMessage) {
        process.stderr.write(
          `certex: ${error.message} Waiting for it: trying again every ${RETRY_INTERVAL_MS / 1000} s for up to ${config.serviceWaitSeconds} s (SERVICE_WAIT_SECONDS).\n`,
        );
        lastMessage = error.message;
      }
      if (!waitingServer && config.processRole !== 'worker') waitingServer = await startWaitingServer(config, () => waitingFor);
      await sleep(RETRY_INTERVAL_MS);
    }
  }
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
  const { applied, waitingServer } = await prepareWhenReachable(config);
  if (applied.length) logger.log(`Applied migrations: ${applied.join(', ')}`);

  const app = await createApp(config);
  await ensureFirstAdmin(app, config);
  if (config.demoData && (await loadDemoData(app))) logger.log('Loaded the demo data');
  if (config.processRole === 'worker') {
    const port = await app.get(WorkerHealth).listen(config.workerHealthPort);
    logger.log(`Worker started: processing queues and schedules; health at http://localhost:${port}${config.basePath}/health`);
    return;
  }
  if (waitingServer) await closeWaitingServer(waitingServer);
  await app.listen(config.port);
  const address = `http://localhost:${config.port}${config.basePath}/`;
  logger.log(`Certex is serving at ${address} (role: ${config.processRole})`);
}

main().catch((error) => {
  if (error instanceof ServiceUnavailableError) fail(error.message, 3);
  if (errorCode(error) === 'EADDRINUSE')
    fail(`port ${String(errorFields(error).port)} is already in use: set PORT (WORKER_HEALTH_PORT for a worker) to a free port.`, 3);
  fail(`could not start: ${errorMessage(error)}`, 1);
});
