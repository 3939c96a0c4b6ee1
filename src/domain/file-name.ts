/**
 * The original file name, kept only to be shown and sent back in Content-Disposition: path parts,
 * control characters and quotes are dropped. It never names anything on disk.
 */
export function cleanFileName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const cleaned = base.replace(/[\x00-\x1f\x7f"]/g, '').trim().slice(0, 200);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'firmware.bin' : cleaned;
}
