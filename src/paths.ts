import { resolve } from 'node:path';

/** The project root, whether running from src/ (tests) or dist/ (built). */
export const ROOT = resolve(__dirname, '..');
export const VIEWS_DIR = resolve(ROOT, 'views');
export const PUBLIC_DIR = resolve(ROOT, 'public');
