/** The CLI version, kept in step with package.json by test/cli/help.test.ts. */
export const VERSION = "0.1.0";
