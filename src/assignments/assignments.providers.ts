import { AssignmentService } from './assignment.service';
import { AssignmentsController } from './assignments.controller';

/** Assignment pages (the Assignments tab): controllers and providers. */
export const ASSIGNMENT_CONTROLLERS: any[] = [AssignmentsController];
export const ASSIGNMENT_PROVIDERS: any[] = [AssignmentService];
