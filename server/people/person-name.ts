/**
 * A person's name as the API and the CLI take it: trimmed, 1..100 characters (code points), no
 * control characters. It is the label of their events, so it is shown on video and in lists.
 */
import { MediaServerError } from '../errors.ts';

/** MAX_NAME_LENGTH is the longest name, in characters (Unicode code points) after trimming. */
export const MAX_NAME_LENGTH = 100;

/**
 * personName returns `raw` trimmed.
 * @throws MediaServerError `ERR_PERSON_NAME` when it is empty, longer than MAX_NAME_LENGTH, or has control characters.
 */
export function personName(raw: string): string {
  const name = raw.trim();
  const length = [...name].length;
  if (length === 0) throw new MediaServerError('ERR_PERSON_NAME', 'http', 'the name is empty (after trimming spaces)');
  if (length > MAX_NAME_LENGTH) throw new MediaServerError('ERR_PERSON_NAME', 'http', `the name is ${length} characters long, at most ${MAX_NAME_LENGTH} are allowed`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) throw new MediaServerError('ERR_PERSON_NAME', 'http', 'the name has control characters (line breaks, tabs, ...)');
  return name;
}
