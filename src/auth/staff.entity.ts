import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';

export type StaffRole = 'admin' | 'viewer';

/** How a person signs in: a password kept by Certex, the organisation's OpenID provider, or its authenticating proxy. */
export type SignInMethod = 'password' | 'oidc' | 'proxy';

export const SIGN_IN_METHOD_LABELS: Record<SignInMethod, string> = {
  password: 'Password',
  oidc: 'Single sign-on',
  proxy: 'Intranet sign-on (proxy)',
};

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

  /** Null for a person who signs in only through single sign-on or the proxy. */
  @Property({ type: 'string', hidden: true, nullable: true })
  passwordHash: string | null = null;

  /** The identity provider (OIDC issuer URL, or `proxy`) and its subject: how an external sign-in finds the account. */
  @Property({ type: 'text', nullable: true })
  identityIssuer: string | null = null;

  @Property({ type: 'text', nullable: true })
  identitySubject: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  lastSignedInAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  lastSignInMethod: SignInMethod | null = null;

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
