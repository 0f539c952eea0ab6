import { UrlBuilder } from './url';

export interface NavItem {
  label: string;
  href: string;
  current: boolean;
  /** "page" on the link's own page; "true" on another page of its section (a learner's page under Learners). */
  ariaCurrent?: 'page' | 'true';
}

const MAIN: Array<{ label: string; path: string }> = [
  { label: 'Certifications', path: '/certifications' },
  { label: 'Exceptions', path: '/exceptions' },
  { label: 'Learners', path: '/learners' },
  { label: 'Audiences', path: '/audiences' },
  { label: 'Courses', path: '/courses' },
];

const ADMIN: Array<{ label: string; path: string }> = [
  { label: 'Bulk actions', path: '/admin/bulk-actions' },
  { label: 'Mail log', path: '/admin/mail' },
  { label: 'Staff', path: '/admin/staff' },
];

function items(urls: UrlBuilder, requestPath: string, list: Array<{ label: string; path: string }>): NavItem[] {
  return list.map(({ label, path }) => {
    const href = urls.to(path);
    const ownPage = requestPath === href;
    const inSection = ownPage || requestPath.startsWith(href + '/');
    return { label, href, current: inSection, ariaCurrent: ownPage ? 'page' : inSection ? 'true' : undefined };
  });
}

export function mainNavigation(urls: UrlBuilder, requestPath: string) {
  return { main: items(urls, requestPath, MAIN), admin: items(urls, requestPath, ADMIN) };
}
