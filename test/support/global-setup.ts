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
    // Databases of earlier runs that did not finish (killed runs) are removed first.
    const stale = await client.query(
      `select datname from pg_database where datname like 'certex\\_t\\_%' and datname not like $1`,
      [`certex\\_t\\_${runId}%`],
    );
    for (const row of stale.rows) await client.query(`drop database if exists "${row.datname}" with (force)`);
    await client.query(`create database "${template}"`);
  });
  await migrate(databaseUrl(template));
}
