import type { Response } from 'express';
import { errorMap, FieldError, validateForm } from './forms';
import { renderPage } from './http';
import { ruleErrors } from './rule-error';

/** Renders a page with a form: its answers, the error summary and inline messages; 400 when there are errors. */
export function renderFormPage(res: Response, view: string, model: Record<string, unknown>, values: object, errors: FieldError[]): void {
  renderPage(res, view, { ...model, values, errors, fieldErrors: errorMap(errors) }, errors.length > 0 ? 400 : 200);
}

/** Radio buttons for a fixed set of values; the first takes the field's id, so the error summary link lands on it. */
export function radioOptions<T extends string>(
  name: string,
  options: readonly T[],
  labels: Record<T, string>,
  values: Record<string, unknown>,
) {
  return options.map((value, index) => ({
    value,
    label: labels[value],
    inputId: index === 0 ? name : `${name}-${value}`,
    checked: values[name] === value,
  }));
}

export function selectOptions<T extends string>(
  name: string,
  options: readonly T[],
  labels: Record<T, string>,
  values: Record<string, unknown>,
) {
  return options.map((value) => ({ value, label: labels[value], selected: values[name] === value }));
}

/**
 * Checks a posted form and saves it. When the check fails, or the save throws a RuleError, the form
 * is shown again with the answers and the messages; `save` answers the request when it succeeds.
 * A refused save shows the answers as the form read them (trimmed), or as posted with
 * `refusedShowsPosted`.
 */
export async function submitForm<T extends object>(
  dto: new () => T,
  body: unknown,
  save: (value: T) => Promise<void>,
  showAgain: (values: Record<string, unknown>, errors: FieldError[]) => void | Promise<void>,
  options: { refusedShowsPosted?: boolean } = {},
): Promise<void> {
  const form = validateForm(dto, body);
  if (!form.ok) return showAgain(form.values, form.errors);
  try {
    await save(form.value);
  } catch (error) {
    await showAgain((options.refusedShowsPosted ? body : form.value) as Record<string, unknown>, ruleErrors(error));
  }
}
