/**
 * @module test/support/leaky-secrets
 * The secrets test/support/leaky-server.ts leaks, shared with the tests that look for them (a separate
 * module: importing the server would start it).
 */
export const LEAKS = {
  password: 'S3cretPassw0rd',
  connection: 'postgres://admin:S3cretPassw0rd@db.internal/prod',
  awsKey: 'AKIAIOSFODNN7EXAMPLE',
  descriptionKey: 'AKIAJ7QWERTYUIOPASDF',
  githubToken: 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
  iban: 'DE89 3704 0044 0532 0130 00',
} as const;
