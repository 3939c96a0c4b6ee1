/**
 * The original file name, kept only to be shown and sent back in Content-Disposition: path parts,
 * control characters (C0, DEL and C1) and quotes are dropped, and so is half a character left by the
 * length limit (a lone surrogate would make `encodeURIComponent` throw). It never names anything on disk.
 */
const CONTROL_AND_QUOTES = /[\p{Cc}"]/gu;
const LONE_SURROGATE = /\p{Cs}/gu;

export function cleanFileName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base.replace(CONTROL_AND_QUOTES, '').trim().slice(0, 200).replace(LONE_SURROGATE, '');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'firmware.bin' : cleaned;
}
