import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';

export type StaffRole = 'admin' | 'viewer';

export const ROLE_LABELS: Record<StaffRole, string> = {
  admin: 'Site administrator',
  viewer: 'Viewer',
};

@Entity({ tableName: 'staff' })
export class Staff {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string', length: 100 })
  @Unique()
  username!: string;

  @Property({ type: 'string', length: 200 })
  displayName!: string;

  @Property({ type: 'string', length: 20 })
  role: StaffRole = 'viewer';

  @Property({ type: 'string', hidden: true })
  passwordHash!: string;

  @Property({ type: 'boolean' })
  disabled = false;

  @Property({ type: 'string', length: 254, nullable: true })
  email: string | null = null;

  @Property({ type: 'boolean' })
  notifyExceptions = true;

  /** The IANA time zone this person reads and types times in; null for the site's (SITE_TIMEZONE). */
  @Property({ type: 'string', length: 64, nullable: true })
  timeZone: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
