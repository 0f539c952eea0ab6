import type { UrlBuilder } from '../common/url';

export type CertificationTab = 'overview' | 'content' | 'assignments' | 'messages' | 'exceptions' | 'completion' | 'membership';

export interface TabLink {
  label: string;
  href: string;
  current: boolean;
}

/** Tab names and paths under /certifications/:id; the names are fixed by the product. */
export const TAB_NAMES: Record<CertificationTab, string> = {
  overview: 'Overview',
  content: 'Content',
  assignments: 'Assignments',
  messages: 'Messages',
  exceptions: 'Exception report',
  completion: 'Completion report',
  membership: 'Membership report',
};

const TAB_PATHS: Record<CertificationTab, string> = {
  overview: '',
  content: '/content',
  assignments: '/assignments',
  messages: '/messages',
  exceptions: '/exceptions',
  completion: '/completion',
  membership: '/membership',
};

/** The links of the certification sub-navigation (views/partials/certification-nav.hbs). */
export function certificationTabs(
  urls: UrlBuilder,
  certification: { id: number },
  current: CertificationTab,
  openCount: number,
): TabLink[] {
  return (Object.keys(TAB_NAMES) as CertificationTab[]).map((tab) => ({
    label: tab === 'exceptions' ? `${TAB_NAMES[tab]} (${openCount})` : TAB_NAMES[tab],
    href: urls.to('/certifications/', certification.id, TAB_PATHS[tab]),
    current: tab === current,
  }));
}
