/**
 * @module test/support/parse-prometheus-text-format
 * The one function of the Prometheus text parser the tests use (the package ships no types).
 */
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
