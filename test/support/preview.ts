import { mainText } from './app';

/** Reading a preview page (views/partials/sync-preview.hbs) as a test compares it with what the sync then does. */

/** The hidden fields of the page's Save form, as a browser would post them. */
export function saveFields(html: string): Record<string, string> {
  const form = /<form class="app-form" method="post"[\s\S]*?<\/form>/.exec(html)![0];
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    if (m[1] !== '_csrf') fields[m[1]] = m[2].replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
  }
  return fields;
}

/** A count of one certification's section ("Learners added" → 19). */
export function previewCount(html: string, certificationId: number, key: string): number {
  const section = new RegExp(`<section class="app-section" aria-labelledby="certification-${certificationId}">[\\s\\S]*?</section>`).exec(
    html,
  );
  if (!section) throw new Error(`no section of certification ${certificationId}`);
  const match = new RegExp(`<dt class="app-summary-list__key">${key}</dt><dd class="app-summary-list__value">([\\d,]+)</dd>`).exec(
    section[0],
  );
  if (!match) throw new Error(`no "${key}" for certification ${certificationId}`);
  return Number(match[1].replace(/,/g, ''));
}

/** The ID numbers listed in one exception type's table of a certification's section. */
export function previewListed(html: string, certificationId: number, type: string): string[] {
  const table = new RegExp(`<caption class="app-table__caption" id="raised-${certificationId}-${type}-caption">[\\s\\S]*?</table>`).exec(
    html,
  );
  if (!table) return [];
  return [...table[0].matchAll(/<\/th>\s*<td class="app-table__cell">([^<]+)<\/td>/g)].map((m) => m[1]);
}

/** The caption of one exception type's table ("Time allowance: 12 learners, the first 10 by name"). */
export function previewCaption(html: string, certificationId: number, type: string): string {
  return mainText(new RegExp(`id="raised-${certificationId}-${type}-caption">([^<]*)<`).exec(html)?.[1] ?? '');
}

/** How many learners of a type the preview says it raises (its caption's number; 0 without a table). */
export function previewRaised(html: string, certificationId: number, type: string): number {
  const match = /: ([\d,]+) learners?/.exec(previewCaption(html, certificationId, type));
  return match ? Number(match[1].replace(/,/g, '')) : 0;
}
