import { invalid } from './errors.js';
import { isFirmwareId } from './ids.js';
import type { Prerequisites } from './model.js';

/** Reads `all` or firmware ids separated by commas (the form fields and the CLI use this text form). */
export function parsePrerequisites(text: string): Prerequisites {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'all') return 'all';
  const ids = trimmed.split(',').map((id) => id.trim());
  const bad = ids.find((id) => !isFirmwareId(id));
  if (bad !== undefined)
    throw invalid(`prerequisites must be "all" or firmware ids separated by commas; "${bad}" is not a firmware id`);
  return [...new Set(ids)];
}
