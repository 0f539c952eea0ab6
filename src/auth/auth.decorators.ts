import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'certex:public';
export const ADMIN_ONLY = 'certex:adminOnly';
export const VIEWER_MAY_POST = 'certex:viewerMayPost';

/** Reachable without signing in. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** Only a site administrator may even see this page (forms that change data). */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);
/** A POST that changes nothing shared, which a viewer may make (sign out, own preferences). */
export const ViewerMayPost = () => SetMetadata(VIEWER_MAY_POST, true);
