// The line-length gate of `npm test`: no line of code, script or workflow over MAX_LINE characters.
//   node --import tsx .ci/line-length.ts [ROOT]
// Biome formats TypeScript at the same width but leaves what it cannot break (string and template text, comments,
// Python, shell, YAML); this check covers those. Two kinds of line are exempt because breaking them changes what
// they mean or hides it: a line that is one regular-expression literal (a test's expected message) and an import
// whose module path alone is long. Markdown and JSON are data, not code, and are not checked.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

export const MAX_LINE = 120;
const CHECKED_EXTENSIONS = new Set(['.ts', '.js', '.mjs', '.cjs', '.py', '.sh', '.yml', '.yaml']);
const CHECKED_NAMES = new Set(['Dockerfile']);
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'build', 'dist', 'cdktf.out', '.gen', '.mltk', '.work']);

const REGEX_LITERAL_LINE = /^\/.*\/[dgimsuvy]*[,;)]*$/;
const LONG_IMPORT_LINE = /^(import|export) .* from '[^']+';$/;

export interface LongLine {
  file: string;
  line: number;
  length: number;
}

const isChecked = (path: string): boolean =>
  CHECKED_EXTENSIONS.has(extname(path)) || CHECKED_NAMES.has(path.split('/').at(-1) ?? '');

/** Tracked files where ROOT is a git work tree (so a scratch file is not flagged); every file below ROOT otherwise. */
function sourceFiles(root: string): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.split('\0').filter((p) => p !== '' && isChecked(p));
  } catch {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory() && !SKIPPED_DIRS.has(e.name)) walk(join(dir, e.name));
        else if (e.isFile()) found.push(relative(root, join(dir, e.name)));
      }
    };
    walk(root);
    return found.filter(isChecked);
  }
}

/** Lines over MAX_LINE characters (code points, as an editor counts them), exemptions aside. */
function longLines(root: string): LongLine[] {
  const found: LongLine[] = [];
  for (const file of sourceFiles(root).sort()) {
    let text: string;
    try {
      text = readFileSync(join(root, file), 'utf8');
    } catch {
      continue; // listed by git but deleted in the work tree
    }
    text.split('\n').forEach((raw, i) => {
      const length = [...raw].length;
      if (length <= MAX_LINE) return;
      const line = raw.trim();
      if (REGEX_LITERAL_LINE.test(line) || LONG_IMPORT_LINE.test(line)) return;
      found.push({ file, line: i + 1, length });
    });
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv[2] ?? process.cwd();
  const found = longLines(root);
  for (const l of found) console.error(`${l.file}:${l.line}: ${l.length} characters (limit ${MAX_LINE})`);
  if (found.length > 0) {
    console.error(
      `${found.length} line${found.length === 1 ? '' : 's'} over ${MAX_LINE} characters: break them ` +
        '(biome format breaks code; strings, comments and templates are broken by hand)',
    );
    process.exit(1);
  }
}
