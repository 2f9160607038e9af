import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** sha256Hex returns the lowercase hex SHA-256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** fileSha256 reads a whole file and returns its lowercase hex SHA-256; rejects with the fs error (e.g. ENOENT) if it can not be read. */
export async function fileSha256(path: string): Promise<string> {
  return sha256Hex(await readFile(path));
}
