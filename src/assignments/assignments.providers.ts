/** Assignment pages (the Assignments tab): controllers and providers. */
export const ASSIGNMENT_CONTROLLERS: any[] = [];
export const ASSIGNMENT_PROVIDERS: any[] = [];
