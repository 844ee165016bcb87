import { spawn } from 'node:child_process';

export interface CurlResult {
  status: number;
  body: string;
  /** Parsed body when it is JSON. */
  json: Record<string, unknown>;
}

/**
 * Runs the real `curl` binary and returns the HTTP status and body. `args` are curl's own
 * arguments, exactly as a person would type them (the URL included).
 */
export async function curl(args: string[]): Promise<CurlResult> {
  const child = spawn('curl', ['-sS', '-w', '\n%{http_code}', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`curl exited ${code}: ${err}`);
  const cut = out.lastIndexOf('\n');
  const body = out.slice(0, cut);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    // not JSON; callers look at body
  }
  return { status: Number(out.slice(cut + 1)), body, json };
}
