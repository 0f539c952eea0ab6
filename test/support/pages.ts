import { getQueueToken } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import { startTestApp, TestApp, TestClient } from './app';

export interface StaffApp {
  t: TestApp;
  /** Ada Admin (ada), signed in. */
  admin: TestClient;
  adminId: number;
  /** Vic Viewer (vic), signed in. */
  viewer: TestClient;
}

/** A fresh app with an administrator and a viewer, both signed in. */
export async function startWithStaff(env: Record<string, string> = {}): Promise<StaffApp> {
  const t = await startTestApp(env);
  const adminId = await t.createStaff('ada', 'admin', undefined, 'Ada Admin');
  await t.createStaff('vic', 'viewer', undefined, 'Vic Viewer');
  return { t, admin: await t.signedIn('ada'), adminId, viewer: await t.signedIn('vic') };
}

/** Every job on a queue, in any state. */
export async function queuedJobs(t: TestApp, queueName: string): Promise<Job[]> {
  const queue = t.app.get<Queue>(getQueueToken(queueName));
  const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'paused']);
  return jobs.filter(Boolean);
}

export async function jobsWithReason(t: TestApp, queueName: string, reason: string): Promise<Job[]> {
  return (await queuedJobs(t, queueName)).filter((job) => job.data?.reason === reason);
}

/** The reasons of the membership syncs asked for one certification. */
export async function syncReasons(t: TestApp, certificationId: number): Promise<string[]> {
  return (await queuedJobs(t, 'membership-sync'))
    .filter((job) => job.data.certificationId === certificationId)
    .map((job) => job.data.reason);
}

/** The href of the pagination link with this rel, as a browser would read it. */
export function pageLink(html: string, rel: 'next' | 'prev'): string {
  const match = new RegExp(`href="([^"]+)" rel="${rel}"`).exec(html);
  if (!match) throw new Error(`no ${rel} link`);
  return match[1].replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
}
