/** The package version, printed by `--version`; test/config.test.ts checks it against package.json. */
export const VERSION = '0.1.0';
