import { randomBytes } from 'node:crypto';
import { migrate } from '../../src/database/database';
import { databaseUrl, templateName, withServer } from './databases';

/**
 * Migrates one template database per test run; every test file then copies it (CREATE DATABASE
 * … TEMPLATE), so each file has its own fresh, fully migrated database in milliseconds.
 */
export default async function globalSetup() {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  process.env.CERTEX_TEST_RUN = runId;
  const template = templateName(runId);
  await withServer(async (client) => {
    // Databases of earlier runs that did not finish (killed runs) are removed first; a run id starts
    // with its start time, so runs still going on in parallel (younger than two hours) are left alone.
    const rows = await client.query(`select datname from pg_database where datname like 'certex\\_t\\_%'`);
    for (const { datname } of rows.rows as Array<{ datname: string }>) {
      const started = parseInt(datname.slice('certex_t_'.length, 'certex_t_'.length + 8), 36);
      if (Number.isFinite(started) && Date.now() - started > 2 * 3600 * 1000) {
        await client.query(`drop database if exists "${datname}" with (force)`);
      }
    }
    await client.query(`create database "${template}"`);
  });
  await migrate(databaseUrl(template));
}
