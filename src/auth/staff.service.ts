import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import * as argon2 from 'argon2';
import type { SignedInStaff } from '../common/http';
import { randomPassword } from '../config/config';
import { inTransaction, sql, SqlRunner } from '../database/sql';
import { ExternalIdentity, ExternalSignInResult, GroupRoles, roleFromGroups, usernameBase } from './external-identity';
import { SignInMethod, Staff, StaffRole } from './staff.entity';
import { clearUsername, forgetPair, takeAttempt } from './sign-in-throttle';

export type SignInResult = { ok: true; staff: SignedInStaff } | { ok: false; throttled: boolean };

export interface StaffInput {
  username: string;
  displayName: string;
  role: StaffRole;
  email?: string;
  password?: string;
}

export class StaffRuleError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

interface IdRow {
  id: number;
}

function toSignedIn(staff: Staff): SignedInStaff {
  return { id: staff.id, username: staff.username, displayName: staff.displayName, role: staff.role, timeZone: staff.timeZone };
}

@Injectable()
export class StaffService {
  private readonly logger = new Logger(StaffService.name);

  // Checked against when the username is unknown, so that timing does not reveal which usernames exist.
  private dummyHash: Promise<string> | null = null;

  constructor(private readonly em: EntityManager) {}

  hashPassword(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }

  async findActive(id: number): Promise<SignedInStaff | null> {
    const staff = await new SqlRunner(this.em).one<SignedInStaff>(
      sql`select id, username, display_name as "displayName", role, time_zone as "timeZone" from staff where id = ${id} and not disabled`,
    );
    return staff ?? null;
  }

  async signIn(username: string, password: string, address: string): Promise<SignInResult> {
    const ticket = await takeAttempt(this.em, username, address);
    if (!ticket.allowed) return { ok: false, throttled: true };
    if (ticket.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, ticket.delayMs));

    const named = sql`lower(username) = lower(${username})`;
    const staff = await this.em
      .createQueryBuilder(Staff)
      .where(named.text, [...named.params])
      .getSingleResult();
    this.dummyHash ??= this.hashPassword(randomPassword());
    const valid = await argon2.verify(staff?.passwordHash ?? (await this.dummyHash), password).catch(() => false);
    if (!staff || !valid || staff.disabled) return { ok: false, throttled: false };
    await forgetPair(new SqlRunner(this.em), username, address);
    return { ok: true, staff: toSignedIn(staff) };
  }

  /**
   * Finds the account of a person the identity provider vouches for, by issuer and subject only
   * (never by email or username: two people with one email stay two accounts), creating it on the
   * first sign-in, and sets its role from the groups every time. In neither group: refused, and
   * nothing is created or changed.
   */
  signInExternal(identity: ExternalIdentity, roles: GroupRoles): Promise<ExternalSignInResult> {
    const role = roleFromGroups(identity.groups, roles);
    if (!role) return Promise.resolve({ ok: false, reason: 'not-allowed' });
    return inTransaction(this.em, async (db, em) => {
      // Two first sign-ins of one person at once create one account.
      await db.run(sql`select pg_advisory_xact_lock(hashtextextended(${`identity:${identity.issuer}\n${identity.subject}`}, 0))`);
      const known = await em.findOne(Staff, { identityIssuer: identity.issuer, identitySubject: identity.subject });
      if (known?.disabled) return { ok: false, reason: 'disabled' };
      if (known) {
        known.role = role;
        return { ok: true, staffId: known.id, role, created: false };
      }
      const username = await this.freeUsername(db, usernameBase(identity));
      const staff = em.create(Staff, {
        username,
        displayName: identity.name?.trim().slice(0, 200) || username,
        role,
        email: identity.email?.trim().slice(0, 254) || null,
        passwordHash: null,
        identityIssuer: identity.issuer,
        identitySubject: identity.subject,
        disabled: false,
        notifyExceptions: true,
        createdAt: new Date(),
      });
      await em.flush();
      return { ok: true, staffId: staff.id, role, created: true };
    });
  }

  /** `base`, or `base-2`, `base-3`… : the first no account has (usernames compare without case). */
  private async freeUsername(db: SqlRunner, base: string): Promise<string> {
    const taken = await db.rows<{ username: string }>(
      sql`select lower(username) as username from staff where lower(username) = lower(${base}) or lower(username) like lower(${base}) || '-%'`,
    );
    const names = new Set(taken.map((row) => row.username));
    let candidate = base;
    for (let n = 2; names.has(candidate.toLowerCase()); n++) candidate = `${base}-${n}`;
    return candidate;
  }

  /** When and how the person last signed in, for Admin › Staff. */
  async recordSignIn(id: number, method: SignInMethod): Promise<void> {
    await new SqlRunner(this.em).run(sql`update staff set last_signed_in_at = now(), last_sign_in_method = ${method} where id = ${id}`);
  }

  /**
   * Ends every session of a person, on every browser and machine: each is sent to sign in on its
   * next request. Answers how many sessions there were.
   */
  endSessions(id: number): Promise<number> {
    return new SqlRunner(this.em).run(sql`delete from session where (sess->>'staffId')::int = ${id}`);
  }

  /** Lets a person whose sign-ins are being slowed or refused try again at once, from any address. */
  clearSignInThrottle(username: string): Promise<number> {
    return clearUsername(new SqlRunner(this.em), username);
  }

  list(): Promise<Staff[]> {
    return this.em.find(Staff, {}, { orderBy: { displayName: 'asc', id: 'asc' } });
  }

  get(id: number): Promise<Staff | null> {
    return this.em.findOne(Staff, id);
  }

  async create(input: StaffInput): Promise<Staff> {
    const staff = this.em.create(Staff, {
      username: input.username,
      displayName: input.displayName,
      role: input.role,
      email: input.email || null,
      passwordHash: await this.hashPassword(input.password!),
      disabled: false,
      notifyExceptions: true,
      createdAt: new Date(),
    });
    try {
      await this.em.flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        this.em.clear();
        throw new StaffRuleError('username', 'There is already a staff account with this username');
      }
      throw error;
    }
    return staff;
  }

  /** Changes role, name, disabled flag and optionally the password; an administrator always remains. */
  async update(
    id: number,
    actingStaffId: number,
    changes: { displayName: string; role: StaffRole; disabled: boolean; email?: string; password?: string },
    keepSessionId: string | null = null,
  ): Promise<Staff> {
    return this.em.transactional(async (em) => {
      // Lock every admin row so that two admins demoting each other cannot leave none.
      const db = new SqlRunner(em);
      await db.rows<IdRow>(sql`select id from staff where role = 'admin' for update`);
      const staff = await em.findOneOrFail(Staff, id);
      const losesAdmin = staff.role === 'admin' && !staff.disabled && (changes.role !== 'admin' || changes.disabled);
      if (losesAdmin) {
        if (id === actingStaffId) {
          throw new StaffRuleError(changes.disabled ? 'disabled' : 'role', 'You cannot remove your own administrator access');
        }
        const others = await em.count(Staff, { role: 'admin', disabled: false, id: { $ne: id } });
        if (others === 0) throw new StaffRuleError('role', 'Certex needs at least one active site administrator');
      }
      staff.displayName = changes.displayName;
      staff.role = changes.role;
      staff.disabled = changes.disabled;
      staff.email = changes.email || null;
      if (changes.password) staff.passwordHash = await this.hashPassword(changes.password);
      // Disabled, or a new password set by an administrator: the person's sessions end, all but
      // the one making the change.
      if (changes.disabled || changes.password) {
        await db.run(sql`delete from session where (sess->>'staffId')::int = ${id} and sid is distinct from ${keepSessionId}`);
      }
      return staff;
    });
  }

  /**
   * Creates the first site administrator when there is no staff account yet. Without a password
   * in the settings, a random one is generated and printed once.
   */
  async ensureFirstAdmin(username: string | null, password: string | null, email: string | null = null): Promise<void> {
    const count = await this.em.count(Staff, {});
    if (count > 0) return;
    const chosenPassword = password ?? randomPassword();
    await this.create({
      username: username ?? 'admin',
      displayName: 'Site administrator',
      role: 'admin',
      password: chosenPassword,
      email: email ?? undefined,
    });
    if (!password) {
      // Printed once, on the console only: the person starting Certex needs it to sign in.
      process.stdout.write(
        `\nCertex created the first site administrator.\n  Username: ${username ?? 'admin'}\n  Password: ${chosenPassword}\n` +
          'Sign in and change it, or set ADMIN_USERNAME and ADMIN_PASSWORD before the first start.\n\n',
      );
    }
    this.logger.log(`Created the first site administrator "${username ?? 'admin'}"`);
  }
}
