import * as fs from 'node:fs';
import * as path from 'node:path';

/** The extension's root folder (tests run from `out/test/unit/`). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

export function fixture(name: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', name), 'utf8'));
}
