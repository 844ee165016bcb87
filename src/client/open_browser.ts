import { spawn } from 'node:child_process';

/**
 * Asks the desktop to open `url` (xdg-open, open or start). Never throws: on a headless machine or
 * over SSH nothing happens and the caller has printed the URL anyway.
 */
export function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No opener on this machine: the URL is on the terminal.
  }
}
