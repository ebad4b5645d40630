// Prints the README's configuration table from the config schema (server/config.ts), so the two cannot drift:
//   npm run config:table            print it
//   npm run config:table -- --write replace the table between the markers in README.md
import { readFileSync, writeFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema, type Secrecy } from '../server/config.ts';

export const BEGIN = '<!-- config-table:begin -->';
export const END = '<!-- config-table:end -->';

/** The table's note on a variable the schema marks `secret` (server/config.ts, Secrecy). */
function secrecyNote(secret: Secrecy | undefined): string | undefined {
  if (secret === true) return '**Secret**: configuration errors never show it.';
  if (secret === 'credentials') return '**May hold secrets**: configuration errors mask its `user:password@` and query.';
  return undefined;
}

export function configTable(): string {
  const rows = Object.entries(ConfigSchema.properties as Record<string, TSchema>).map(([name, s]) => {
    const def = s.default === undefined ? '(unset)' : s.default === '' ? '(empty)' : `\`${s.default}\``;
    const meaning = [s.description ?? '', secrecyNote(s.secret)].filter(Boolean).join(' ');
    return `| \`${name}\` | ${def} | ${meaning.replace(/\|/g, '\\|')} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

if (process.argv[1]?.endsWith('config-table.ts')) {
  if (process.argv.includes('--write')) {
    const readme = readFileSync('README.md', 'utf8');
    const [head, rest] = readme.split(BEGIN);
    const tail = rest?.split(END)[1];
    if (head === undefined || tail === undefined) throw new Error(`README.md lacks the ${BEGIN} … ${END} markers`);
    writeFileSync('README.md', `${head}${BEGIN}\n${configTable()}\n${END}${tail}`);
  } else {
    console.log(configTable());
  }
}
