// Watching a set of directories for "something changed here", robust to what editors and installers do: temp
// files, renames, the directory itself being removed and re-created (the inotify watch then dies silently, so
// `ensure()` re-arms a watch whose directory inode changed). Events carry no meaning beyond "look again";
// the caller debounces and re-reads the directory.
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';

interface Armed {
  readonly watcher: FSWatcher;
  readonly ino: number;
}

export class DirWatchSet {
  readonly #dirs: readonly string[];
  readonly #onEvent: (dir: string, fileName: string | null) => void;
  readonly #armed = new Map<string, Armed>();
  #closed = false;

  constructor(dirs: readonly string[], onEvent: (dir: string, fileName: string | null) => void) {
    this.#dirs = [...new Set(dirs)];
    this.#onEvent = onEvent;
  }

  /** (Re-)arms every watch that is missing or stale; directories that do not exist yet are retried next time. */
  async ensure(): Promise<void> {
    for (const dir of this.#dirs) {
      if (this.#closed) return;
      let ino: number | undefined;
      try {
        const st = await stat(dir);
        ino = st.isDirectory() ? st.ino : undefined;
      } catch {
        ino = undefined;
      }
      const current = this.#armed.get(dir);
      if (current && current.ino === ino) continue;
      if (current) this.#disarm(dir);
      if (ino === undefined || this.#closed) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, fileName) => {
          this.#onEvent(dir, typeof fileName === 'string' ? fileName : null);
        });
        watcher.on('error', () => {
          // The directory went away or the watch broke: drop it and let the next ensure() re-arm it.
          this.#disarm(dir);
          this.#onEvent(dir, null);
        });
        this.#armed.set(dir, { watcher, ino });
      } catch {
        // Raced with a removal; the next ensure() tries again.
      }
    }
  }

  #disarm(dir: string): void {
    const armed = this.#armed.get(dir);
    if (!armed) return;
    this.#armed.delete(dir);
    armed.watcher.close();
  }

  close(): void {
    this.#closed = true;
    for (const dir of [...this.#armed.keys()]) this.#disarm(dir);
  }
}
