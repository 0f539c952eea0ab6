import type { StaffRole } from './staff.entity';

/** A person as the organisation's identity provider or authenticating proxy vouches for them. */
export interface ExternalIdentity {
  method: 'oidc' | 'proxy';
  /** The OIDC issuer URL, or `proxy` for the authenticating proxy. */
  issuer: string;
  /** The provider's unchanging id for the person (`sub`, or the proxy's user header). */
  subject: string;
  /** For a new account: the username to start from (made unique), the name and email shown. */
  preferredUsername: string | null;
  name: string | null;
  email: string | null;
  groups: string[];
}

/** Which groups of the provider make a site administrator and a viewer. */
export interface GroupRoles {
  adminGroup: string | null;
  viewerGroup: string | null;
}

export type ExternalSignInResult =
  { ok: true; staffId: number; role: StaffRole; created: boolean } | { ok: false; reason: 'not-allowed' | 'disabled' };

/** The administrator group wins over the viewer group; neither: no access. */
export function roleFromGroups(groups: readonly string[], roles: GroupRoles): StaffRole | null {
  if (roles.adminGroup && groups.includes(roles.adminGroup)) return 'admin';
  if (roles.viewerGroup && groups.includes(roles.viewerGroup)) return 'viewer';
  return null;
}

/**
 * A username for a new account from what the provider offered: letters, digits and `._@-` kept,
 * at most 90 characters, so that a number can be added when it is taken.
 */
export function usernameBase(identity: Pick<ExternalIdentity, 'preferredUsername' | 'email' | 'subject'>): string {
  for (const candidate of [identity.preferredUsername, identity.email, identity.subject]) {
    const cleaned = (candidate ?? '')
      .normalize('NFKC')
      .replace(/[^\p{L}\p{N}._@-]+/gu, '')
      .slice(0, 90);
    if (cleaned) return cleaned;
  }
  return 'staff';
}

/** Groups from a claim or header: an array of names, or one string of names split by commas. */
export function groupsFrom(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === 'string').map((group) => group.trim());
  if (typeof value === 'string')
    return value
      .split(/[,;]/)
      .map((group) => group.trim())
      .filter(Boolean);
  return [];
}
