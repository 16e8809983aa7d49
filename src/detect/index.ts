/**
 * @module detect/index
 * Secret and personal-data detection and redaction (pure: no I/O, no Node built-ins). Policy compiles
 * its `redaction:` section onto this; the harness applies it to tool inputs and outputs.
 */
export { cardNetwork, ibanValid, ipv6Valid, jwtHeaderValid, luhnValid, ssnValid } from './checksums.js';
export { DETECTOR_IDS, DETECTORS, type Detector, type DetectorClass, detectorById } from './detectors.js';
export {
  type ActionFor,
  MAX_DEPTH,
  type RedactedValue,
  type RedactionAction,
  redactValue,
  type ValueFinding,
} from './redact-value.js';
export { type Finding, placeholder, replaceFindings, Scanner } from './scanner.js';
