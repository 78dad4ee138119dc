import { documentedSettings, pinSettings } from "../../src/cli/settings.mjs";

export { WRANGLER_TOML } from "../../src/cli/settings.mjs";

/** What .dev.vars.example documents; a test checks it is exactly what src/config.ts reads. */
export const DOCUMENTED_SETTINGS = documentedSettings();

/** Settings the tests depend on; every other documented setting is reset by `hermeticSettings`. */
const TEST_SETTINGS: Record<string, string> = {
  ASSET_SIGNING_SECRET: "test-asset-signing-secret",
  JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789abcdef",
  // An error code a route did not declare fails the test that provoked it (see app.ts).
  STRICT_ERROR_CODES: "on",
  // The mock model answers at once; tests that need a pace set their own.
  MOCK_LLM_WORD_INTERVAL_MS: "0",
  // Receivers are fetch stubs at https://*.test hosts; a timeout test needs no 15 s wait.
  WEBHOOK_TIMEOUT_MS: "300",
  // Audio as fast as it is made, so a test need not wait the length of the speech; the tests of
  // pacing give their conversation its own audio_lead_ms.
  CONVERSATION_AUDIO_LEAD_MS: "600000",
  // Request counts written within 20 ms, so a test that waits on a request's waitUntil waits little.
  USAGE_REQUESTS_BATCH_MS: "20",
  // A conversation's turn usage too, so a test reading /v1/usage after a turn waits little.
  USAGE_CONVERSATIONS_BATCH_MS: "20",
  // Rate-limit tests simulate several isolates, each with its own lease.
  LIMITER_SIMULATED_HOLDERS: "on",
};

/**
 * Hermetic settings: nothing a developer puts in .dev.vars can change a test's outcome (CI proves it
 * by running the suite with a hostile .dev.vars).
 */
export const hermeticSettings = (overrides: Record<string, string> = {}) => pinSettings({ ...TEST_SETTINGS, ...overrides });
