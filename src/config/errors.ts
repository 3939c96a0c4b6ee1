export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A start that cannot go on, with one line that names the setting to change (`fota: …` on the
 * command line, exit code 1, no stack trace).
 */
export class StartError extends Error {
  readonly exitCode = 1;
  constructor(readonly cliMessage: string) {
    super(cliMessage);
    this.name = 'StartError';
  }
}
