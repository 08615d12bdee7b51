// The headless browser the page tests drive: MLTK_CHROMIUM (GitHub's Ubuntu runners have Google Chrome
// at /usr/bin/google-chrome, and Ubuntu's chromium package is only a snap stub), else Debian's chromium.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.MLTK_CHROMIUM || '/usr/bin/chromium';

/** Why a page test cannot run here, or undefined when the browser is installed (the test's `skip`). */
export const chromiumMissing = (): string | undefined =>
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not installed (Debian package chromium, or set MLTK_CHROMIUM)`;

/**
 * Renders the file `page` in headless Chromium into the PNG `png` (a window `width` × `height`), its
 * profile under `profileDir`; the browser's stderr tail, for a failed assertion's message.
 */
export function screenshot(page: string, png: string, profileDir: string, width: number, height: number): string {
  const r = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
      `--user-data-dir=${profileDir}`,
      `--screenshot=${png}`,
      `--window-size=${width},${height}`,
      `file://${page}`,
    ],
    { timeout: 60_000, encoding: 'utf8' },
  );
  return r.stderr?.slice(-500) ?? '';
}
