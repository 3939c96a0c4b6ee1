/**
 * The original file name, kept only to be shown and sent back in Content-Disposition: path parts,
 * control characters and quotes are dropped. It never names anything on disk.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_AND_QUOTES = /[\x00-\x1f\x7f"]/g;

export function cleanFileName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base.replace(CONTROL_AND_QUOTES, '').trim().slice(0, 200);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'firmware.bin' : cleaned;
}
