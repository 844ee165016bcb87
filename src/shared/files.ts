import { chmodSync, writeFileSync } from 'node:fs';

/** Writes a secret file readable by its owner only. */
export function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}
