import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * cachestat(2) (Linux 6.5) on each file, through perl's syscall (x86_64 number 451): the count of the file's
 * pages in the page cache that are dirty, i.e. written but not yet on disk. Paths arrive NUL-separated on
 * stdin; `<dirty pages>\t<path>` lines come out.
 */
const CACHESTAT = String.raw`
$/ = "\0";
while (my $path = <STDIN>) {
  chomp $path;
  open(my $file, '<', $path) or die "$path: $!\n";
  my ($range, $stat) = (pack('QQ', 0, 0), "\0" x 40);
  syscall(451, fileno($file), $range, $stat, 0) == 0 or die "cachestat: $!\n";
  my (undef, $dirty) = unpack('Q5', $stat);
  print "$dirty\t$path\n";
}`;

function regularFiles(root: string): string[] {
  return readdirSync(root, { withFileTypes: true, recursive: true })
    .filter(entry => entry.isFile())
    .map(entry => join(entry.parentPath, entry.name));
}

/** The files below `root` with pages not yet written to disk, and how many each. */
export function dirtyFiles(root: string): Record<string, number> {
  const files = regularFiles(root);
  const output = execFileSync('perl', ['-e', CACHESTAT], { input: files.map(file => `${file}\0`).join(''), encoding: 'utf8' });
  const dirty: Record<string, number> = {};
  for (const line of output.split('\n').filter(Boolean)) {
    const [pages, path] = line.split('\t');
    if (Number(pages) > 0) dirty[path] = Number(pages);
  }
  return dirty;
}
