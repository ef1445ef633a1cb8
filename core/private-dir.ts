/**
 * Whether a directory is private to the user palisade runs as. What palisade keeps in one (the
 * type-check cache, the control socket) is trusted as its own, and often by root: a directory
 * that another user owns or can write to lets that user plant links (a root-owned file then
 * overwritten), plant results (a rule file "with no type errors"), or put a socket in the way.
 */
import { lstatSync } from 'node:fs';

/** Null if `dir` is a real directory of this user that no one else can write to; else why not and what to do. */
export function privateDirProblem(dir: string): string | null {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return `${dir} cannot be examined (${(err as Error).message})`;
  }
  // A link is refused outright: where it points can change between the check and the use.
  if (st.isSymbolicLink()) return `${dir} is a symbolic link: use the directory it points to`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `${dir} belongs to uid ${st.uid}, not to uid ${uid} that runs palisade: chown ${uid} ${dir}`;
  if ((st.mode & 0o022) !== 0) {
    const who = (st.mode & 0o020) !== 0 && (st.mode & 0o002) !== 0 ? 'group and others' : (st.mode & 0o020) !== 0 ? 'group' : 'others';
    return `${dir} is writable by ${who} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): chmod go-w ${dir}`;
  }
  return null;
}
