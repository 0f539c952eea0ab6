import { Staff } from '../auth/staff.entity';
import { Assignment } from '../assignments/assignment.entity';
import { Membership, MembershipHistory, MembershipSource } from '../assignments/membership.entity';
import { SyncRun } from '../assignments/sync/sync-run.entity';
import { CertificationException, ExceptionAudit } from '../exceptions/exception.entity';
import { BulkAction, BulkActionDraft, BulkActionItem } from '../exceptions/bulk-action.entity';

/**
 * Every entity, listed explicitly so that discovery never depends on file globs. The other
 * features read and write with set-based SQL (lists of 100,000 rows, bulk actions, uploads), so
 * they own tables and migrations but no entities.
 */
export const ENTITIES = [
  Staff,
  Assignment,
  Membership,
  MembershipSource,
  MembershipHistory,
  CertificationException,
  ExceptionAudit,
  SyncRun,
  BulkAction,
  BulkActionItem,
  BulkActionDraft,
];
