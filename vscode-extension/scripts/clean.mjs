// Removes build folders (portable `rm -rf`): node scripts/clean.mjs out dist
import * as fs from 'node:fs';
for (const dir of process.argv.slice(2)) {
  fs.rmSync(dir, { recursive: true, force: true });
}
