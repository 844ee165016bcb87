import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.ts';

export const DOCKERFILE = join(ROOT, 'ci', 'Dockerfile');

export interface Instruction {
  keyword: string;
  /** The arguments as written, continuation lines joined. */
  args: string;
  /** Exec-form arguments when written as a JSON array. */
  exec?: string[];
  /** Index of the build stage (FROM) the instruction belongs to; -1 before the first FROM. */
  stage: number;
}

/** A small Dockerfile reader: comments, line continuations, exec (JSON) and shell forms. */
export function parseDockerfile(text = readFileSync(DOCKERFILE, 'utf8')): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!current && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (current && line.trimStart().startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push((current + line).trim());
    current = '';
  }
  if (current) logical.push(current.trim());
  let stage = -1;
  return logical.map((line) => {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') stage++;
    let exec: string[] | undefined;
    const json = upper === 'HEALTHCHECK' ? args.replace(/^(--\S+\s+)*CMD\s+/, '') : args;
    if (json.startsWith('[')) {
      try {
        exec = JSON.parse(json) as string[];
      } catch {
        exec = undefined;
      }
    }
    return { keyword: upper, args, exec, stage };
  });
}

/** Default values of the global ARGs (before the first FROM). */
export function globalArgs(instructions: Instruction[]): Record<string, string> {
  return Object.fromEntries(
    instructions
      .filter((i) => i.keyword === 'ARG' && i.stage === -1)
      .map((i) => {
        const [name = '', value = ''] = i.args.split(/=(.*)/s);
        return [name, value.replace(/^"|"$/g, '')];
      }),
  );
}

/** `ENV a=b c=d` of one stage, in order. */
export function stageEnv(instructions: Instruction[], stage: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions.filter((x) => x.keyword === 'ENV' && x.stage === stage)) {
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

/** COPY sources of one stage, split into build-context sources and `--from` stage copies. */
export function copies(instructions: Instruction[], stage: number): Array<{ from?: string; sources: string[]; dest: string }> {
  return instructions
    .filter((i) => i.keyword === 'COPY' && i.stage === stage)
    .map((i) => {
      const parts = i.exec ?? i.args.split(/\s+/);
      const flags = parts.filter((p) => p.startsWith('--'));
      const paths = parts.filter((p) => !p.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] ?? '' };
    });
}
