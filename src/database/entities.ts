import { LoginAttempt } from '../auth/login-attempt.entity';
import { Staff } from '../auth/staff.entity';
import { Certification, CourseSet, CourseSetCourse } from '../certifications/certification.entity';
import { Course, CourseCompletion } from '../courses/course.entity';
import { MaintenanceRun } from '../jobs/maintenance-run.entity';
import { Audience, AudienceMember, Learner } from '../learners/learner.entity';
import { PendingMemberUpload, PendingMemberUploadLearner } from '../learners/pending-member-upload.entity';
import { AdminNotice } from '../notifications/admin-notice.entity';
import { MessageTemplate } from '../notifications/message-template.entity';
import { OutboxMail } from '../notifications/outbox-mail.entity';
import { Assignment } from '../assignments/assignment.entity';
import { Membership, MembershipHistory, MembershipSource } from '../assignments/membership.entity';
import { SyncRun } from '../assignments/sync/sync-run.entity';
import { CertificationException, ExceptionAudit } from '../exceptions/exception.entity';
import { ExceptionOpenQuarterCount } from '../exceptions/exception-open-quarter-count.entity';
import { BulkAction, BulkActionDraft, BulkActionItem } from '../exceptions/bulk-action.entity';
import { Exemption } from '../exemptions/exemption.entity';

/**
 * Every entity, listed explicitly so that discovery never depends on file globs. Entities serve
 * forms, detail pages and small reads and writes; set-based paths (lists of 100,000 rows, bulk
 * actions, uploads, the outbox) read and write the same tables with SQL.
 */
export const ENTITIES = [
  Staff,
  LoginAttempt,
  Learner,
  Audience,
  AudienceMember,
  Course,
  CourseCompletion,
  Certification,
  CourseSet,
  CourseSetCourse,
  MaintenanceRun,
  OutboxMail,
  MessageTemplate,
  AdminNotice,
  Assignment,
  Membership,
  MembershipSource,
  MembershipHistory,
  CertificationException,
  ExceptionAudit,
  ExceptionOpenQuarterCount,
  SyncRun,
  BulkAction,
  BulkActionItem,
  BulkActionDraft,
  PendingMemberUpload,
  PendingMemberUploadLearner,
  Exemption,
];
