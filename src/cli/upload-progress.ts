import { SingleBar } from 'cli-progress';
import { formatBytes } from './output.js';

/** What an upload reports while it sends a file. */
export interface UploadProgress {
  /** `written` bytes of the file are sent. */
  update(written: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr, drawn only when stderr is a terminal: piped or redirected output
 * (scripts, logs, `--json`) stays free of it.
 */
export function uploadProgress(fileName: string, size: number): UploadProgress {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const total = formatBytes(size);
  const bar = new SingleBar({
    stream: process.stderr,
    format: `Uploading ${fileName} [{bar}] {percentage}% {sent}/${total} ETA {eta_formatted}`,
    hideCursor: true,
  });
  bar.start(size, 0, { sent: formatBytes(0) });
  return {
    update: (written) => bar.update(written, { sent: formatBytes(written) }),
    stop: () => bar.stop(),
  };
}
