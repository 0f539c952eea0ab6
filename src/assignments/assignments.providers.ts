import type { Type } from '@nestjs/common';
import { AssignmentService } from './assignment.service';
import { AssignmentsController } from './assignments.controller';

/** Assignment pages (the Assignments tab): controllers and providers. */
export const ASSIGNMENT_CONTROLLERS: Type[] = [AssignmentsController];
export const ASSIGNMENT_PROVIDERS: Type[] = [AssignmentService];
