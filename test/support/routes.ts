import type { Pool } from 'pg';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { PUBLIC_ROUTE, VIEWER_MAY_POST } from '../../src/auth/auth.decorators';

export interface AppRoute {
  method: 'GET' | 'POST';
  /** Express-style path, e.g. /certifications/:id/content/sets/:setId/edit (without BASE_PATH). */
  path: string;
  /** Names of the path parameters, in order. */
  params: string[];
  viewerMayPost: boolean;
  isPublic: boolean;
}

function joinPath(...parts: (string | undefined)[]): string {
  const joined = parts
    .filter((p): p is string => typeof p === 'string')
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p.length > 0)
    .join('/');
  return '/' + joined;
}

function asList(value: unknown): string[] {
  if (value === undefined) return [''];
  return Array.isArray(value) ? value.map((item) => `${item as string}`) : [`${value as string}`];
}

/** Every GET and POST route of the running app, read from Nest's controller metadata. */
export function appRoutes(app: NestExpressApplication): AppRoute[] {
  const routes: AppRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const type = wrapper.metatype as any;
      if (!type?.prototype) continue;
      const classPaths = asList(Reflect.getMetadata(PATH_METADATA, type));
      const classFlag = (key: string) => Reflect.getMetadata(key, type) === true;
      for (const name of Object.getOwnPropertyNames(type.prototype)) {
        if (name === 'constructor') continue;
        const handler = Object.getOwnPropertyDescriptor(type.prototype, name)?.value;
        if (typeof handler !== 'function') continue;
        const requestMethod = Reflect.getMetadata(METHOD_METADATA, handler);
        if (requestMethod !== RequestMethod.GET && requestMethod !== RequestMethod.POST) continue;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const flag = (key: string) => Reflect.getMetadata(key, handler) === true || classFlag(key);
        for (const classPath of classPaths) {
          for (const methodPath of asList(Reflect.getMetadata(PATH_METADATA, handler))) {
            const path = joinPath(classPath, methodPath);
            routes.push({
              method: requestMethod === RequestMethod.GET ? 'GET' : 'POST',
              path,
              params: [...path.matchAll(/:(\w+)/g)].map((m) => m[1]),
              viewerMayPost: flag(VIEWER_MAY_POST),
              isPublic: flag(PUBLIC_ROUTE),
            });
          }
        }
      }
    }
  }
  return routes.sort((a, b) => (a.path + a.method).localeCompare(b.path + b.method));
}

/**
 * The routes Express itself will answer, for checking that the Nest metadata above misses none.
 * Middleware bound to every method (MikroORM's request context registers '/{*all}') is not a route.
 */
export function expressRoutes(app: NestExpressApplication, method: 'get' | 'post'): string[] {
  const instance = app.getHttpAdapter().getInstance() as any;
  const stack: any[] = (instance.router ?? instance._router).stack;
  return stack
    .filter((layer) => layer.route && layer.route.methods?.[method])
    .filter((layer) => !(layer.route.methods.get && layer.route.methods.post && layer.route.methods.delete))
    .map((layer) => String(layer.route.path))
    .sort();
}

/**
 * A checksum and row count of every table except the session and sign-in bookkeeping, so that a
 * test can prove a refused request changed nothing at all.
 */
export async function databaseSnapshot(db: Pool): Promise<Record<string, string>> {
  // pg_tables lists the same base tables as information_schema.tables, without its privilege
  // checks: a few milliseconds less per snapshot, and the property tests take two per request.
  const { rows: tables } = await db.query(
    `select tablename as table_name from pg_tables
      where schemaname = 'public' and tablename not in ('session', 'login_attempt')
      order by tablename`,
  );
  const sql = tables
    .map(
      ({ table_name }) =>
        `select '${table_name}' as name, count(*)::text || ':' || coalesce(md5(string_agg(t::text, '' order by t::text)), '-') as sum from "${table_name}" t`,
    )
    .join(' union all ');
  const { rows } = await db.query(sql);
  return Object.fromEntries(rows.map((r) => [r.name, r.sum]));
}

/** Names of the tables whose snapshot differs, for a readable failure. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n] !== after[n]).sort();
}

/** Replaces every :param of a path from the given values; throws on a parameter nobody arranged. */
export function fillPath(path: string, value: (param: string, path: string) => string | number | undefined): string {
  return path.replace(/:(\w+)/g, (_m, param: string) => {
    const v = value(param, path);
    if (v === undefined) throw new Error(`No arranged value for :${param} in ${path}: arrange one in the test`);
    return String(v);
  });
}
