// Regenerates README's configuration table and .env.example from src/config/.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envExample, withTable } from '../src/config/docs.ts';

const root = join(import.meta.dirname, '..');
const readme = join(root, 'README.md');
writeFileSync(readme, withTable(readFileSync(readme, 'utf8')));
writeFileSync(join(root, '.env.example'), envExample());
console.log('README.md and .env.example updated');
