import type { Provider, Type } from '@nestjs/common';
import { AssignmentService } from './assignment.service';
import { AssignmentsController } from './assignments.controller';
import { AssignmentPreviewService } from './preview/assignment-preview.service';

/** Assignment pages (the Assignments tab): controllers and providers. */
export const ASSIGNMENT_CONTROLLERS: Type[] = [AssignmentsController];
export const ASSIGNMENT_PROVIDERS: Provider[] = [AssignmentService, AssignmentPreviewService];
