/**
 * The package version, sent in the `user-agent` of every call (a test keeps it equal to
 * package.json's).
 *
 * @internal
 */
export const version = "0.1.0"
