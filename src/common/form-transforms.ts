/** class-transformer `@Transform` functions for posted form fields. */
export const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** For optional text: trimmed, and '' when the field was not posted. */
export const trimOrEmpty = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : '');
