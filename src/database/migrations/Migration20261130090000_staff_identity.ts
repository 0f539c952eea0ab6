import { Migration } from '@mikro-orm/migrations';

/**
 * Staff who sign in through the organisation's single sign-on or its authenticating proxy: known
 * by the identity provider's issuer and subject (never by email or username), with no password of
 * their own. How and when each person last signed in, for Admin › Staff.
 */
export class Migration20261130090000_staff_identity extends Migration {
  override up(): void {
    this.addSql(`alter table staff alter column password_hash drop not null`);
    this.addSql(`alter table staff add column identity_issuer text, add column identity_subject text`);
    this.addSql(`alter table staff add constraint staff_identity_pair check ((identity_issuer is null) = (identity_subject is null))`);
    this.addSql(`create unique index staff_identity on staff (identity_issuer, identity_subject) where identity_issuer is not null`);
    this.addSql(`alter table staff add column last_signed_in_at timestamptz, add column last_sign_in_method text`);
    this.addSql(`alter table staff add constraint staff_last_sign_in_method check (last_sign_in_method in ('password', 'oidc', 'proxy'))`);
  }
}
