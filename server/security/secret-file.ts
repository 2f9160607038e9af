/**
 * Secrets read from a file (`--publish-secret-file`, `--play-secret-file`): a process's arguments
 * are readable by every local user (`ps`), a file of mode 0600 only by its owner.
 */
import { readFileSync } from 'node:fs';

/**
 * readSecretFile returns the first line of `file` (without its line end), for the flag named `flag`.
 * @throws Error with code `ERR_CONFIG` when the file can not be read or its first line is empty.
 */
export function readSecretFile(flag: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw Object.assign(new Error(`${flag}: cannot read ${file}: ${(err as Error).message}`), { code: 'ERR_CONFIG' });
  }
  const secret = text.split(/\r?\n/)[0];
  if (!secret) throw Object.assign(new Error(`${flag}: ${file} holds no secret on its first line`), { code: 'ERR_CONFIG' });
  return secret;
}
