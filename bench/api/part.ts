/** What each part of bench:api hands back: text for the terminal, figures for .bench/api.json. */
export interface PartReport {
  readonly title: string;
  readonly text: string;
  readonly figures: Record<string, unknown>;
}
