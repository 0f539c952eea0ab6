import { Migration20261128000001_foundation } from './Migration20261128000001_foundation';
import { Migration20261128000002_certifications } from './Migration20261128000002_certifications';
import { Migration20261128020000_exception_actions } from './Migration20261128020000_exception_actions';
import { Migration20261128030000_outbox } from './Migration20261128030000_outbox';
import { Migration20261128032000_messages } from './Migration20261128032000_messages';
import { Migration20261128040000_reports } from './Migration20261128040000_reports';
import { Migration20261128050000_membership_counts } from './Migration20261128050000_membership_counts';
import { Migration20261130010000_reopen } from './Migration20261130010000_reopen';
import { Migration20261130030000_notices_and_job_keys } from './Migration20261130030000_notices_and_job_keys';
import { Migration20261130040000_bulk_item_keys } from './Migration20261130040000_bulk_item_keys';
import { Migration20261130090000_staff_identity } from './Migration20261130090000_staff_identity';
import { Migration20261130100000_time_zones } from './Migration20261130100000_time_zones';
import { Migration20261130110000_sync_run_exceptions } from './Migration20261130110000_sync_run_exceptions';
import { Migration20261130111000_learner_keys_given } from './Migration20261130111000_learner_keys_given';
import { Migration20261130112000_bulk_parent_checks } from './Migration20261130112000_bulk_parent_checks';
import { Migration20261130120000_exception_learner_search } from './Migration20261130120000_exception_learner_search';
import { Migration20261130130000_outbox_html_when_sent } from './Migration20261130130000_outbox_html_when_sent';
import { Migration20261130130100_audit_exception_index_covered } from './Migration20261130130100_audit_exception_index_covered';
import { Migration20261130130200_outbox_membership_index_unused } from './Migration20261130130200_outbox_membership_index_unused';
import { Migration20261130142000_exemptions } from './Migration20261130142000_exemptions';

/** Every migration in order. Listed here so that dist/ and ts-jest find the same set. */
export const MIGRATIONS = [
  { name: 'Migration20261128000001_foundation', class: Migration20261128000001_foundation },
  { name: 'Migration20261128000002_certifications', class: Migration20261128000002_certifications },
  { name: 'Migration20261128020000_exception_actions', class: Migration20261128020000_exception_actions },
  { name: 'Migration20261128030000_outbox', class: Migration20261128030000_outbox },
  { name: 'Migration20261128032000_messages', class: Migration20261128032000_messages },
  { name: 'Migration20261128040000_reports', class: Migration20261128040000_reports },
  { name: 'Migration20261128050000_membership_counts', class: Migration20261128050000_membership_counts },
  { name: 'Migration20261130010000_reopen', class: Migration20261130010000_reopen },
  { name: 'Migration20261130030000_notices_and_job_keys', class: Migration20261130030000_notices_and_job_keys },
  { name: 'Migration20261130040000_bulk_item_keys', class: Migration20261130040000_bulk_item_keys },
  { name: 'Migration20261130090000_staff_identity', class: Migration20261130090000_staff_identity },
  { name: 'Migration20261130100000_time_zones', class: Migration20261130100000_time_zones },
  { name: 'Migration20261130110000_sync_run_exceptions', class: Migration20261130110000_sync_run_exceptions },
  { name: 'Migration20261130111000_learner_keys_given', class: Migration20261130111000_learner_keys_given },
  { name: 'Migration20261130112000_bulk_parent_checks', class: Migration20261130112000_bulk_parent_checks },
  { name: 'Migration20261130120000_exception_learner_search', class: Migration20261130120000_exception_learner_search },
  { name: 'Migration20261130130000_outbox_html_when_sent', class: Migration20261130130000_outbox_html_when_sent },
  { name: 'Migration20261130130100_audit_exception_index_covered', class: Migration20261130130100_audit_exception_index_covered },
  { name: 'Migration20261130130200_outbox_membership_index_unused', class: Migration20261130130200_outbox_membership_index_unused },
  { name: 'Migration20261130142000_exemptions', class: Migration20261130142000_exemptions },
];
